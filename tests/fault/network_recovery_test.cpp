// Recovery at the edges of a run, through the link-fault proxy, with the
// same ledger as network_fault_test.cpp:
//  - a link that breaks during start-up (after the first connect): start-up
//    retries as a whole;
//  - a clean stop sends the XACKs that waited for a reconnect once the link
//    is back;
//  - a run that takes over the lease of a killed run refreshes it at once;
//  - the write-through follows the durable checkpoint while running;
//  - in plain mode the reconnect line does not talk about a pending list.
#include <doctest/doctest.h>

#include <csignal>
#include <thread>

#include "fault_run.hpp"

using namespace streamckpt::test;

TEST_CASE("a link that breaks during start-up: start-up keeps retrying, as for an unreachable Redis") {
  for (const bool group : k_modes) {
    FaultRun run(group, 43);
    CAPTURE(run.mode());
    run.produce(100);
    // 16 bytes of replies per connection: the handshake (+PONG) gets through,
    // the rest of start-up is cut.
    run.proxy().set(k_to_client, DirectionFaults::limited(16));
    run.start({"--startup-timeout-ms", "60000"});
    REQUIRE(eventually([&] { return run.proxy().cut() >= 3 || !run.cli().running(); }));
    {
      INFO("stderr: ", run.cli().err());
      REQUIRE_MESSAGE(run.cli().running(), "start-up gave up although --startup-timeout-ms is 60000");
    }
    run.proxy().clear();
    run.wait_started();
    run.wait_all_handled();
    const auto r = run.stop();
    run.check_clean_ledger(r);
  }
}

TEST_CASE("group mode: a clean stop sends the XACKs that waited for a reconnect, once the link is back") {
  FaultRun run(true, 59);
  run.produce(100);
  run.start();
  run.wait_started();
  run.wait_all_handled();
  // New connections are refused. The reading connection keeps working; the
  // other one (XACK, write-through, lease) is cut.
  run.proxy().down(DownMode::refuse, false);
  const auto reading = run.proxy().connections_that_sent("XREADGROUP");
  REQUIRE(reading.size() == 1);
  for (const auto id : run.proxy().open_connection_ids())
    if (id != reading[0]) REQUIRE(run.proxy().reset_connection(id));
  run.produce(10);
  // Handled and durable; their XACKs wait for a connection, retrying.
  REQUIRE(eventually([&] {
    const auto got = handled_numbers(run.cli().out());
    return !got.empty() && got.back() == 110;
  }));
  REQUIRE(eventually([&] { return mentions(run.cli().err(), "(attempt 4)") || !run.cli().running(); }));
  REQUIRE(run.pending_count() == 10);
  // The link is back, then SIGTERM.
  run.proxy().clear();
  run.cli().signal(SIGTERM);
  const auto r = run.cli().wait_for(std::chrono::seconds(30));
  REQUIRE(r);
  INFO("stderr: ", r->err);
  REQUIRE(r->exit_code == 0);
  CHECK(exactly_once_in_order(handled_numbers(r->out), 110) ==
        "each of the 110 entries " + std::string(k_exactly_once));
  CHECK_MESSAGE(run.pending_count() == 0,
                "a clean stop with the link up left handled entries pending in the group "
                "(another consumer could XCLAIM them and handle them again)");
}

TEST_CASE("group mode: a run that takes over the lease its killed predecessor left keeps it alive") {
  FaultRun run(true, 61);
  const std::string lease = run.hash_key() + ":lease";
  run.produce(100);
  run.start({"--lease-ttl-ms", "3000"});
  run.wait_started();
  run.wait_all_handled();  // durable and XACKed
  const auto first = run.cli().kill();
  auto handled = handled_numbers(first.out);
  const auto pttl = run.redis().run({"PTTL", lease});
  REQUIRE(pttl->type == REDIS_REPLY_INTEGER);
  REQUIRE(pttl->integer > 0);              // the killed run's lease is still live
  run.start({"--lease-ttl-ms", "30000"});  // its first renewal is 10 s away
  run.wait_started();
  CHECK(mentions(run.cli().err(), "took over the lease " + lease));
  // Past the old lease's expiry (Redis's clock), unless the new run refreshed it.
  std::this_thread::sleep_for(std::chrono::milliseconds(pttl->integer + 200));
  CHECK_MESSAGE(run.redis().run({"EXISTS", lease})->integer == 1,
                "the lease expired under the running instance: taking it over did not refresh its TTL");
  run.produce(50);
  run.wait_all_handled();
  const auto r = run.stop();
  INFO("stderr: ", r.err);
  CHECK(r.exit_code == 0);
  CHECK(!mentions(r.err, "refused our write"));
  const auto more = handled_numbers(r.out);
  handled.insert(handled.end(), more.begin(), more.end());
  CHECK(exactly_once_in_order(handled, 150) == "each of the 150 entries " + std::string(k_exactly_once));
  CHECK(run.hash_field("id") == run.ids().back());
}

TEST_CASE(
    "write-through while running: the Redis copy follows within --flush-ms, and catches up after the link is back") {
  for (const bool group : k_modes) {
    FaultRun run(group, 67);
    CAPTURE(run.mode());
    run.produce(50);
    run.start();  // --flush-ms 20
    run.wait_started();
    run.wait_all_handled();
    {
      INFO("stderr: ", run.cli().err());
      REQUIRE_MESSAGE(eventually([&] { return run.hash_field("id") == run.ids().back(); }, std::chrono::seconds(10)),
                      "the Redis copy did not follow the durable checkpoint within 10 s (--flush-ms 20)");
    }
    // The connection that writes through is cut and cannot come back; the
    // reading one keeps working.
    run.proxy().down(DownMode::refuse, false);
    const auto reading = run.proxy().connections_that_sent("XREAD");
    REQUIRE(reading.size() == 1);
    for (const auto id : run.proxy().open_connection_ids())
      if (id != reading[0]) REQUIRE(run.proxy().reset_connection(id));
    run.produce(20);
    REQUIRE(eventually([&] {
      const auto got = handled_numbers(run.cli().out());
      return !got.empty() && got.back() == 70;
    }));
    CHECK(run.hash_field("id") == run.ids()[49]);  // it cannot have been written
    run.proxy().clear();
    {
      INFO("stderr: ", run.cli().err());
      CHECK_MESSAGE(eventually([&] { return run.hash_field("id") == run.ids().back(); }, std::chrono::seconds(10)),
                    "the Redis copy did not catch up within 10 s of the link coming back");
    }
    const auto r = run.stop();
    run.check_clean_ledger(r);
  }
}

TEST_CASE("plain mode: the reconnect line does not mention a pending list") {
  FaultRun run(false, 47);
  run.produce(20);
  run.start();
  run.wait_started();
  run.proxy().reset();
  wait_for_more(run, "streamckpt: reconnected");
  run.produce(20);
  run.wait_all_handled();
  const auto r = run.stop();
  run.check_clean_ledger(r);
  const auto lines = lines_with(r.err, "streamckpt: reconnected");
  REQUIRE(!lines.empty());
  for (const auto& line : lines)
    CHECK_MESSAGE(!mentions(line, "pending list"), line, " (plain mode has no pending list)");
}

TEST_CASE("a password set on Redis while running: the reconnect is refused, and the run ends with exit 1 and why") {
  for (const bool group : k_modes) {
    FaultRun run(group, 71);
    CAPTURE(run.mode());
    run.produce(40);
    run.start();
    run.wait_started();
    run.wait_all_handled();
    // The test's own connection stays authenticated; the consumer's are cut
    // and must authenticate again, without a password.
    run.redis().run({"CONFIG", "SET", "requirepass", "rotated"});
    run.proxy().reset();
    const auto r = run.cli().wait_for(std::chrono::seconds(30));
    REQUIRE_MESSAGE(r, "the run went on retrying a connection that Redis refuses; stderr: ", run.cli().err());
    INFO("stderr: ", r->err);
    CHECK(r->exit_code == 1);
    CHECK(mentions(r->err, "streamckpt: error: redis://127.0.0.1:"));
    CHECK(mentions(r->err, " refused: NOAUTH Authentication required."));
    auto handled = handled_numbers(r->out);
    CHECK(handled.size() == 40);
    // With the password gone again, the next run resumes after what the first
    // one handled: over both runs, every entry exactly once.
    run.redis().run({"CONFIG", "SET", "requirepass", ""});
    run.produce(10);
    run.start();
    run.wait_started();
    run.wait_all_handled();
    const auto second = run.stop();
    const auto more = handled_numbers(second.out);
    handled.insert(handled.end(), more.begin(), more.end());
    CHECK(exactly_once_in_order(handled, 50) == "each of the 50 entries " + std::string(k_exactly_once));
  }
}

TEST_CASE("garbage that looks ahead in the Redis copy while running is overwritten by the next write-through") {
  for (const bool group : k_modes) {
    FaultRun run(group, 73);
    CAPTURE(run.mode());
    run.produce(30);
    run.start();  // --flush-ms 20
    run.wait_started();
    run.wait_all_handled();
    REQUIRE(eventually([&] { return run.hash_field("id") == run.ids().back(); }, std::chrono::seconds(10)));
    // A higher epoch makes the update script refuse every write as "not
    // newer"; the CRC no longer matches, so the copy is invalid.
    run.redis().run({"HSET", run.hash_key(), "epoch", "99"});
    run.produce(20);
    run.wait_all_handled();
    {
      INFO("stderr: ", run.cli().err());
      CHECK_MESSAGE(eventually([&] { return run.hash_field("id") == run.ids().back(); }, std::chrono::seconds(10)),
                    "the write-through stopped at the garbage");
    }
    CHECK(run.hash_field("epoch") == "0");
    const auto r = run.stop();
    run.check_clean_ledger(r);
    CHECK(mentions(r.err, "the Redis copy refused the write-through but is not valid (field crc does not match"));
  }
}

TEST_CASE("a valid Redis copy ahead of the running consumer (a forced set elsewhere) is left as it is, logged once") {
  FaultRun run(false, 79);  // plain mode: the set moves no group under the running consumer
  run.produce(30);
  const auto first = run.ids();
  run.start();  // --flush-ms 20
  run.wait_started();
  run.wait_all_handled();
  // The Redis copy trails by up to --flush-ms: the set below must see it at
  // the last entry to move it backwards.
  REQUIRE(eventually([&] { return run.hash_field("id") == first.back(); }, std::chrono::seconds(10)));
  // Another host forces the checkpoint back: a new epoch, so its copy is
  // ahead of everything this consumer writes from now on.
  TempDir other;
  const auto set = run_cli({"checkpoint", "set", "--redis", run.proxy().url(), "--stream", "orders", "--consumer",
                            "edge-7", "--data-dir", (other.path() / "ckpt").string(), "--id", first[9], "--force"});
  REQUIRE_MESSAGE(set.exit_code == 0, set.err);
  REQUIRE(run.hash_field("epoch") == "1");
  run.produce(10);
  run.wait_all_handled();
  const auto r = run.stop();
  INFO("stderr: ", r.err);
  CHECK(r.exit_code == 0);
  CHECK(exactly_once_in_order(handled_numbers(r.out), 40) == "each of the 40 entries " + std::string(k_exactly_once));
  CHECK(run.hash_field("id") == first[9]);
  CHECK(run.hash_field("epoch") == "1");
  const auto line = "streamckpt: the Redis copy " + first[9] + " (epoch 1) is ahead of the durable checkpoint ";
  CHECK(mentions(r.err, line));
  CHECK(r.err.find(line) == r.err.rfind(line));
}
