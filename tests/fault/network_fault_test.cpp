// The CLI against a link that misbehaves: it consumes through a LinkProxy in
// front of redis-server while a producer writes straight to redis-server.
// Every test checks the ledger (each produced entry handled, in order, and
// exactly once after a clean stop), and the user-visible evidence of the
// fault (log lines, reconnects).
#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>
#include <random>
#include <thread>

#include "fault_run.hpp"

using namespace streamckpt::test;

TEST_CASE("latency with jitter both ways (20±15 ms): every entry exactly once, in order") {
  for (const bool group : k_modes) {
    FaultRun run(group, 7);
    CAPTURE(run.mode());
    run.proxy().set_both(DirectionFaults::with_latency(std::chrono::milliseconds(20), std::chrono::milliseconds(15)));
    run.produce(50);  // a backlog before start-up, which runs through the slow link too
    run.start();
    run.wait_started();
    run.produce_async(250, 10, std::chrono::milliseconds(20));
    run.wait_all_handled();
    const auto r = run.stop();  // still slow
    run.check_clean_ledger(r);
    CHECK(run.proxy().cut() == 0);
    CHECK(run.proxy().accepted() == 2);  // no reconnect was needed
  }
}

TEST_CASE("slicer both ways (1 to 3 bytes per write): every entry exactly once, in order") {
  for (const bool group : k_modes) {
    FaultRun run(group, 11);
    CAPTURE(run.mode());
    run.proxy().set_both(DirectionFaults::sliced(3));
    run.produce(50);
    run.start();
    run.wait_started();
    run.produce_async(250, 10, std::chrono::milliseconds(20));
    run.wait_all_handled();
    const auto r = run.stop();
    run.check_clean_ledger(r);
    CHECK(run.proxy().accepted() == 2);
    CHECK(run.proxy().forwarded(k_to_client) > 300 * 20);  // the replies did go through the slicer
  }
}

TEST_CASE("resets mid-run: the consumer reconnects and every entry is handled exactly once, in order") {
  // Both sides reset; only the consumer's side reset (redis-server sees a
  // FIN); only redis-server's side reset (the consumer sees a FIN).
  const std::vector<std::function<void(LinkProxy&)>> resets = {
      [](LinkProxy& p) { p.reset(); },
      [](LinkProxy& p) { p.reset(k_to_client); },
      [](LinkProxy& p) { p.reset(k_to_server); },
  };
  for (const bool group : k_modes) {
    FaultRun run(group, 13);
    CAPTURE(run.mode());
    run.produce(50);
    run.start({"--batch", "10"});
    run.wait_started();
    const auto connections = run.proxy().accepted();
    run.produce_async(250, 10, std::chrono::milliseconds(20));
    for (int i = 0; i < 6; ++i) {
      const auto accepted = run.proxy().accepted();
      resets[static_cast<std::size_t>(i) % resets.size()](run.proxy());
      // Nothing moves before a new connection: wait for one.
      REQUIRE(eventually([&] { return run.proxy().accepted() > accepted; }));
      std::this_thread::sleep_for(std::chrono::milliseconds(80));
    }
    run.wait_all_handled();
    const auto r = run.stop();
    run.check_clean_ledger(r);
    CHECK(run.proxy().cut() >= 6);
    CHECK(run.proxy().accepted() >= connections + 6);
    CHECK(mentions(
        r.err, "streamckpt: read failed (Redis connection lost; outcome of the command unknown); reconnecting in "));
    CHECK(mentions(r.err, "streamckpt: reconnected"));
    if (group) CHECK(mentions(r.err, "streamckpt: reconnected; replaying the pending list"));
  }
}

TEST_CASE("black hole mid-run: requests time out, the link is dropped and re-established, nothing is lost") {
  for (const bool group : k_modes) {
    FaultRun run(group, 17);
    CAPTURE(run.mode());
    run.produce(50);
    run.start(k_quick_timeouts);
    run.wait_started();
    run.produce_async(250, 10, std::chrono::milliseconds(20));
    // Replies vanish twice (the commands ran: XREADGROUP moved entries to the
    // pending list, XACKs happened), then requests vanish once.
    for (const auto direction : {k_to_client, k_to_client, k_to_server}) {
      run.proxy().set(direction, DirectionFaults::black_hole());
      wait_for_more(run, "Redis command timed out; outcome unknown");
      run.proxy().clear();
      wait_for_more(run, "streamckpt: reconnected");
    }
    run.wait_all_handled();
    const auto r = run.stop();
    run.check_clean_ledger(r);
    CHECK(mentions(r.err, "streamckpt: read failed (Redis command timed out; outcome unknown); reconnecting in "));
    CHECK(run.proxy().swallowed(k_to_client) > 0);
    CHECK(run.proxy().swallowed(k_to_server) > 0);
  }
}

TEST_CASE("every connection cut after a few bytes, again and again: nothing lost, nothing twice") {
  for (const bool group : k_modes) {
    FaultRun run(group, 19);
    CAPTURE(run.mode());
    run.produce(50);
    run.start({"--batch", "5"});
    run.wait_started();
    run.proxy().set(k_to_client, DirectionFaults::limited(1500));
    run.proxy().set(k_to_server, DirectionFaults::limited(3000));
    run.produce_async(250, 10, std::chrono::milliseconds(20));
    run.wait_all_handled();
    const auto cut = run.proxy().cut();
    run.proxy().clear();
    const auto r = run.stop();
    run.check_clean_ledger(r);
    CHECK(cut >= 5);
    CHECK(mentions(r.err, "streamckpt: reconnected"));
  }
}

TEST_CASE("link down mid-run (refused, then reset on accept): retried with reasons, then resumed") {
  for (const bool group : k_modes) {
    FaultRun run(group, 23);
    CAPTURE(run.mode());
    run.produce(50);
    run.start();
    run.wait_started();
    run.produce_async(250, 10, std::chrono::milliseconds(20));
    for (const auto mode : {DownMode::refuse, DownMode::reset}) {
      run.proxy().down(mode);
      wait_for_more(run, "retrying in", 3);
      run.proxy().clear();
      wait_for_more(run, "streamckpt: reconnected");
    }
    run.wait_all_handled();
    const auto r = run.stop();
    run.check_clean_ledger(r);
    CHECK(mentions(r.err, "cannot connect to 127.0.0.1:" + port_of(run) + ": Connection refused; retrying in "));
    CHECK(
        (mentions(r.err, "redis://127.0.0.1:" + port_of(run) + " did not answer: ") ||
         mentions(r.err, "cannot connect to 127.0.0.1:" + port_of(run) + ": Connection reset by peer; retrying in ")));
    CHECK(run.proxy().turned_away() > 0);
  }
}

TEST_CASE("link down at start-up: every attempt is logged with its reason, and it starts once the link is back") {
  for (const auto mode : {DownMode::refuse, DownMode::reset}) {
    for (const bool group : k_modes) {
      FaultRun run(group, 29);
      CAPTURE(run.mode());
      const std::string how = mode == DownMode::refuse ? "refused" : "reset on accept";
      CAPTURE(how);
      // Refused: the connect fails. Reset on accept: the connect fails, or
      // the handshake does when the reset comes after the connect completed.
      const std::vector<std::string> reasons =
          mode == DownMode::refuse
              ? std::vector<std::string>{"cannot connect to 127.0.0.1:" + port_of(run) + ": Connection refused; "}
              : std::vector<std::string>{"cannot connect to 127.0.0.1:" + port_of(run) + ": Connection reset by peer; ",
                                         "redis://127.0.0.1:" + port_of(run) + " did not answer: "};
      run.produce(100);
      run.proxy().down(mode);
      // Explicit, so that this holds whatever the default start-up timeout is.
      run.start({"--startup-timeout-ms", "60000"});
      REQUIRE(eventually([&] { return occurrences(run.cli().err(), "retrying in") >= 3 || !run.cli().running(); }));
      REQUIRE(run.cli().running());
      const auto retries = lines_with(run.cli().err(), "retrying in");
      for (const auto& line : retries) {
        CAPTURE(line);
        CHECK(std::any_of(reasons.begin(), reasons.end(),
                          [&](const std::string& reason) { return line.rfind("streamckpt: " + reason, 0) == 0; }));
      }
      CHECK(run.cli().out().empty());
      run.proxy().clear();
      run.wait_started();
      run.produce_async(100, 10, std::chrono::milliseconds(10));
      run.wait_all_handled();
      const auto r = run.stop();
      run.check_clean_ledger(r);
    }
  }
}

TEST_CASE("link down with --startup-timeout-ms 500: exit 1 with one error line") {
  for (const auto mode : {DownMode::refuse, DownMode::reset}) {
    FaultRun run(true, 31);
    const std::string how = mode == DownMode::refuse ? "refused" : "reset on accept";
    CAPTURE(how);
    run.produce(10);
    run.proxy().down(mode);
    run.start({"--startup-timeout-ms", "500"});
    const auto r = run.cli().wait_for(std::chrono::seconds(30));
    REQUIRE_MESSAGE(r, "still running 30 s after a 500 ms start-up timeout");
    INFO("stderr: ", r->err);
    CHECK(r->exit_code == 1);
    CHECK(r->out.empty());
    const auto errors = lines_with(r->err, "error");
    REQUIRE(errors.size() == 1);
    if (mode == DownMode::refuse)
      CHECK(errors[0] == "streamckpt: error: cannot connect to 127.0.0.1:" + port_of(run) + ": Connection refused");
    else
      CHECK((errors[0].rfind("streamckpt: error: redis://127.0.0.1:" + port_of(run) + " did not answer: ", 0) == 0 ||
             errors[0] ==
                 "streamckpt: error: cannot connect to 127.0.0.1:" + port_of(run) + ": Connection reset by peer"));
  }
}

TEST_CASE("chaos: a random fault every 50-250 ms (fixed seed) while entries arrive: exactly once, in order") {
  for (const bool group : k_modes) {
    FaultRun run(group, 53);
    CAPTURE(run.mode());
    run.produce(100);
    auto args = k_quick_timeouts;
    args.insert(args.end(), {"--batch", "20"});
    run.start(args);
    run.wait_started();
    run.produce_async(1500, 15, std::chrono::milliseconds(20));
    std::mt19937 rng(group ? 101 : 102);
    const auto pick = [&](int low, int high) { return std::uniform_int_distribution<int>(low, high)(rng); };
    const auto direction = [&] { return pick(0, 1) ? k_to_client : k_to_server; };
    std::string steps;
    for (int step = 0; step < 30; ++step) {
      run.proxy().clear();
      switch (pick(0, 6)) {
        case 0:
          run.proxy().set_both(DirectionFaults::with_latency(std::chrono::milliseconds(pick(5, 40)),
                                                             std::chrono::milliseconds(pick(0, 5))));
          steps += "latency ";
          break;
        case 1:
          run.proxy().set(direction(), DirectionFaults::sliced(static_cast<std::size_t>(pick(1, 4))));
          steps += "slicer ";
          break;
        case 2:
          run.proxy().reset();
          steps += "reset ";
          break;
        case 3:
          run.proxy().set(k_to_client, DirectionFaults::limited(static_cast<std::uint64_t>(pick(800, 4000))));
          steps += "limit ";
          break;
        case 4:
          run.proxy().set(direction(), DirectionFaults::black_hole());
          steps += "blackhole ";
          break;
        case 5:
          run.proxy().down(pick(0, 1) ? DownMode::refuse : DownMode::reset);
          steps += "down ";
          break;
        default:
          steps += "clean ";
          break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(pick(50, 250)));
      REQUIRE(run.cli().running());
    }
    CAPTURE(steps);
    run.proxy().clear();
    run.wait_all_handled();
    const auto r = run.stop();
    run.check_clean_ledger(r);
    CHECK(run.proxy().cut() > 0);
    CHECK(run.proxy().accepted() > 2);
  }
}

// ---------------------------------------------------------------------------
// Stopping while the link is down.

TEST_CASE("SIGTERM while the link is down or a black hole: exits 0 at once; the next run goes on without a duplicate") {
  struct Outage {
    std::string name;
    std::function<void(LinkProxy&)> begin;
  };
  const std::vector<Outage> outages = {
      {"down", [](LinkProxy& p) { p.down(); }},
      {"black hole", [](LinkProxy& p) { p.set_both(DirectionFaults::black_hole()); }},
  };
  for (const auto& outage : outages) {
    for (const bool group : k_modes) {
      FaultRun run(group, 37);
      CAPTURE(run.mode());
      CAPTURE(outage.name);
      run.produce(100);
      // A short lease: in group mode its renewal notices the lost link within 100 ms.
      auto args = k_quick_timeouts;
      args.insert(args.end(), {"--lease-ttl-ms", "300"});
      run.start(args);
      run.wait_started();
      run.wait_all_handled();
      if (group) REQUIRE(eventually([&] { return run.pending_count() == 0; }));  // every XACK is done
      outage.begin(run.proxy());
      // Every loop that talks to Redis is retrying: reads, and in group mode the lease.
      REQUIRE(eventually([&] { return occurrences(run.cli().err(), "(attempt 1)") >= (group ? 2 : 1); }));
      run.cli().signal(SIGTERM);
      const auto r = run.cli().wait_for(std::chrono::seconds(15));
      if (!r) {
        const bool said_stopped = mentions(run.cli().err(), "streamckpt: stopped after ");
        run.proxy().clear();
        const auto late = run.cli().wait_for(std::chrono::seconds(30));
        INFO("stderr: ", late ? late->err : run.cli().err());
        CHECK_MESSAGE(false, "still running 15 s after SIGTERM while the link was out",
                      said_stopped ? " (after printing its stop line)" : "",
                      late ? "; it exited once the link was back" : "; it did not exit when the link was back either");
        continue;
      }
      {
        INFO("stderr: ", r->err);
        REQUIRE(r->exit_code == 0);
        CHECK(mentions(r->err, "streamckpt: stopped after 100 events; checkpoint " + run.ids().back()));
      }
      // The link is back: the next run handles only what is new. (It starts
      // once the stopped run's lease expired: taking a lease over has its own
      // test.)
      auto handled = handled_numbers(r->out);
      run.proxy().clear();
      if (group)
        REQUIRE(eventually([&] { return run.redis().run({"EXISTS", run.hash_key() + ":lease"})->integer == 0; }));
      run.produce(50);
      run.start();
      run.wait_started();
      run.wait_all_handled();
      const auto next = run.stop();
      INFO("next run's stderr: ", next.err);
      REQUIRE(next.exit_code == 0);
      const auto more = handled_numbers(next.out);
      handled.insert(handled.end(), more.begin(), more.end());
      CHECK(exactly_once_in_order(handled, 150) == "each of the 150 entries " + std::string(k_exactly_once));
      CHECK(run.hash_field("id") == run.ids().back());
      if (group) CHECK(run.pending_count() == 0);
    }
  }
}

TEST_CASE("SIGTERM while the link is down and XACKs are outstanding: a clean stop, and no duplicate after it") {
  FaultRun run(true, 41);
  run.produce(3000);
  // No lease: only the XACKs are left to wait for.
  run.start({"--batch", "10", "--no-lease"});
  run.wait_started();
  // Take the link down until an entry the sink wrote is still pending in
  // Redis: its XACK cannot have been sent.
  bool outstanding = false;
  for (int attempt = 0; attempt < 10 && !outstanding; ++attempt) {
    const auto seen = run.handled_so_far();
    REQUIRE(eventually([&] { return run.handled_so_far() >= seen + 50 || !run.cli().running(); }));
    run.proxy().down();
    const auto handled = handled_numbers(run.cli().out());
    const auto pending = run.pending_ids();
    for (const int n : handled)
      if (std::find(pending.begin(), pending.end(), run.ids()[static_cast<std::size_t>(n - 1)]) != pending.end())
        outstanding = true;
    if (!outstanding) run.proxy().clear();
  }
  REQUIRE(outstanding);
  run.cli().signal(SIGTERM);
  auto r = run.cli().wait_for(std::chrono::seconds(15));
  if (!r) {
    run.proxy().clear();
    r = run.cli().wait_for(std::chrono::seconds(30));
    INFO("stderr: ", r ? r->err : run.cli().err());
    CHECK_MESSAGE(false, "still running 15 s after SIGTERM while the link was down",
                  r ? "; it exited once the link was back" : "; it did not exit when the link was back either");
    return;
  }
  run.proxy().clear();
  INFO("first run's stderr: ", r->err);
  REQUIRE(r->exit_code == 0);
  // The next run handles the rest; a clean stop never causes a duplicate.
  auto handled = handled_numbers(r->out);
  run.start({"--batch", "100", "--no-lease"});
  run.wait_started();
  run.wait_all_handled();
  const auto second = run.stop();
  INFO("second run's stderr: ", second.err);
  REQUIRE(second.exit_code == 0);
  const auto more = handled_numbers(second.out);
  handled.insert(handled.end(), more.begin(), more.end());
  CHECK(exactly_once_in_order(handled, 3000) == "each of the 3000 entries " + std::string(k_exactly_once));
  CHECK(run.pending_count() == 0);
}
