// The consumer process paused (SIGSTOP: a frozen VM, a debugger, a host
// under memory pressure) for longer than its lease's TTL. When it resumes,
// its lease has expired and nobody else took it: the consumer takes it again
// and goes on. Two of its paths find the lease gone at once (the renewal and
// the write-through the lease refused); neither may take the lease the other
// has just taken for another instance's.
#include "fault_run.hpp"
#include "ledger.hpp"

#include <doctest/doctest.h>

#include <csignal>

using namespace streamckpt::test;

TEST_CASE("group mode: paused past its lease TTL, again and again, the consumer takes its own lease back and goes on") {
  FaultRun run(true);
  run.produce(20);
  // A 20 ms write-through (FaultRun's) and entries arriving throughout leave
  // the Redis copy waiting to be flushed at most pauses; its flush then falls
  // due before the renewal when the process resumes.
  run.start({"--lease-ttl-ms", "1000", "--batch", "10"});
  run.wait_started();
  const auto lease = run.hash_key() + ":lease";
  constexpr int k_pauses = 6;
  for (int pause = 1; pause <= k_pauses; ++pause) {
    CAPTURE(pause);
    const auto handled = run.handled_so_far();
    run.produce_async(300, 3, 2ms);
    REQUIRE(eventually([&] { return run.handled_so_far() > handled || !run.cli().running(); }));
    run.cli().signal(SIGSTOP);
    // Counted while it cannot log: it may retake the lease the moment it
    // resumes, before the producer below is done.
    const int retakes = occurrences(run.cli().err(), "took it again");
    // Paused until Redis has expired the lease: no guess at how long that is.
    const bool expired = eventually([&] { return run.redis().run({"EXISTS", lease})->integer == 0; });
    run.cli().signal(SIGCONT);
    REQUIRE(expired);
    run.finish_producing();
    const bool retaken =
        eventually([&] { return occurrences(run.cli().err(), "took it again") > retakes || !run.cli().running(); });
    INFO("stderr: ", run.cli().err());
    REQUIRE(retaken);
    REQUIRE(run.cli().running());
  }
  run.wait_all_handled();
  const auto r = run.stop();
  run.check_clean_ledger(r);
  // Every line about the lease is a retake of its own, at least one per
  // pause (a renewal late on a busy machine may add one).
  const auto lease_lines = lines_with(r.err, "lease");
  CHECK(lease_lines.size() >= k_pauses);
  for (const auto& line : lease_lines)
    CHECK(line == "streamckpt: the lease " + lease +
                      " had expired (this process was paused, or the link was down, for longer than the lease's "
                      "TTL), or Redis lost it; took it again");
  CHECK(run.redis().run({"EXISTS", lease})->integer == 0);  // released by the clean stop
}
