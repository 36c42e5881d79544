// The data directory on a real file system that fails: a small tmpfs that
// fills up, and a loop-mounted ext4 that turns read-only after an error. The
// consumer must pause (not abort, not exit), say why, and resume exactly once
// when the storage comes back. These need root to mount; without it they
// say so and check nothing.
#include "real_disk.hpp"
#include "cli.hpp"
#include "fault_run.hpp"
#include "ledger.hpp"
#include "redis_server.hpp"

#include <doctest/doctest.h>

#include <csignal>
#include <functional>
#include <thread>

using namespace streamckpt::test;
using namespace std::chrono_literals;

namespace {

std::vector<int> one_to(int last) {
  std::vector<int> v;
  for (int i = 1; i <= last; ++i) v.push_back(i);
  return v;
}

// One consumer whose data directory is on `disk`, with its file sink on an
// ordinary disk, and the ledger of what it wrote there.
struct Run {
  RedisServer redis;
  Client client{redis.port()};
  TempDir dir;
  int produced = 0;

  std::filesystem::path sink_path;  // the file sink's file: on an ordinary disk unless a test moves it
  std::filesystem::path sink() const { return sink_path.empty() ? dir.path() / "out.jsonl" : sink_path; }
  void produce(int count) {
    client.produce("orders", produced + 1, count);
    produced += count;
  }
  std::vector<std::string> consume_args(const std::filesystem::path& data_dir) const {
    return {"consume", "--redis", redis.url(), "--stream", "orders", "--group", "billing", "--consumer", "edge-7",
            "--data-dir", data_dir.string(), "--sink", "file:" + sink().string(), "--metrics",
            // Small batches make many small commits: the WAL outgrows the
            // space it was given sooner.
            "--batch", "5"};
  }
  std::size_t handled() const { return handled_numbers(read_file(sink())).size(); }
  std::string last_id() {
    auto r = client.run({"XREVRANGE", "orders", "+", "-", "COUNT", "1"});
    return std::string(r->element[0]->element[0]->str, r->element[0]->element[0]->len);
  }
};

// Produces until the running consumer reports a failed local commit, at most
// `limit` entries, keeping at most a few thousand ahead of it, and the disk
// full.
bool produce_until_commit_fails(Run& run, SmallTmpfs& disk, CliProcess& consumer, int limit) {
  const auto failed = [&] { return contains(consumer.err(), "local commit failed") || !consumer.running(); };
  while (run.produced < limit && !failed()) {
    disk.fill();  // RocksDB frees space as it deletes an obsolete WAL
    if (run.produced - static_cast<int>(run.handled()) < 5000)
      run.produce(1000);
    else
      std::this_thread::sleep_for(20ms);
  }
  return eventually(failed, 10s) && consumer.running();
}

// Keeps the disk full while the consumer retries, until it has failed
// `failures` times; returns whether it did, still running.
bool keep_full_until(SmallTmpfs& disk, CliProcess& consumer, std::size_t failures) {
  return eventually([&] {
           disk.fill();  // what RocksDB freed since (an obsolete WAL it deleted)
           return occurrences(consumer.err(), "local commit failed") >= static_cast<int>(failures) ||
                  !consumer.running();
         }) &&
         consumer.running();
}

// The data directory's files and what CURRENT names, for a failure's message:
// a store that cannot be opened again after a repair says why here.
std::string store_files(const std::filesystem::path& data_dir) {
  std::string out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(data_dir, ec)) out += " " + e.path().filename().string();
  return out + "; CURRENT: " + read_file(data_dir / "CURRENT");
}

void stop_and_check_ledger(Run& run, CliProcess& consumer, const std::filesystem::path& data_dir) {
  REQUIRE_MESSAGE(eventually([&] { return run.handled() == static_cast<std::size_t>(run.produced); }), "handled ",
                  run.handled(), " of ", run.produced, "; the data directory:", store_files(data_dir),
                  "; the consumer's stderr:\n", consumer.err());
  consumer.signal(SIGTERM);
  const auto r = consumer.wait();
  CHECK_MESSAGE(r.exit_code == 0, r.err);
  CHECK(contains(r.err, "checkpoint " + run.last_id()));
  // Exactly once, in order: the file sink cuts what a failed commit left.
  CHECK(handled_numbers(read_file(run.sink())) == one_to(run.produced));
}

}  // namespace

TEST_CASE("a data directory on a tmpfs that fills up: consumption pauses, says why, and resumes exactly once") {
  if (!can_mount()) {
    MESSAGE("skipped: mounting a tmpfs needs root");
    return;
  }
  Run run;
  SmallTmpfs disk(run.dir.path() / "disk", 4 << 20);
  const auto data_dir = disk.path() / "ckpt";
  run.produce(500);
  CliProcess consumer(run.consume_args(data_dir), run.dir.path());
  REQUIRE(eventually([&] { return run.handled() == 500; }));

  disk.fill();
  REQUIRE_MESSAGE(produce_until_commit_fails(run, disk, consumer, 200000), "produced ", run.produced, ", handled ",
                  run.handled(), ", running ", consumer.running(), ", free ", disk.available_bytes(), ": ",
                  consumer.err());
  CHECK(contains(consumer.err(),
                 "local commit failed (local checkpoint store I/O error: IO error: No space left on "
                 "device"));
  run.produce(2000);  // arrive while it is paused
  REQUIRE_MESSAGE(keep_full_until(disk, consumer, 3), consumer.err());
  CHECK(run.handled() < static_cast<std::size_t>(run.produced));

  disk.free_space();
  run.produce(500);
  stop_and_check_ledger(run, consumer, data_dir);
  const auto err = consumer.err();
  CHECK(contains(err, R"("storage_errors":)"));
  CHECK_FALSE(contains(err, R"("storage_errors":0,)"));
}

TEST_CASE(
    "a data directory on an ext4 that remounts read-only: consumption pauses until it is repaired, exactly once") {
  if (!can_mount()) {
    MESSAGE("skipped: loop-mounting ext4 needs root");
    return;
  }
  Run run;
  LoopExt4 disk(run.dir.path(), run.dir.path() / "disk", 32 << 20);
  const auto data_dir = disk.path() / "ckpt";
  run.produce(500);
  CliProcess consumer(run.consume_args(data_dir), run.dir.path());
  REQUIRE(eventually([&] { return run.handled() == 500; }));

  disk.trigger_error();
  REQUIRE(disk.read_only());
  run.produce(1000);
  REQUIRE_MESSAGE(
      eventually([&] { return occurrences(consumer.err(), "local commit failed") >= 3 || !consumer.running(); }),
      consumer.err());
  REQUIRE_MESSAGE(consumer.running(), consumer.err());
  CHECK(contains(consumer.err(), "Read-only file system"));
  CHECK(run.handled() < static_cast<std::size_t>(run.produced));

  disk.repair_and_remount();
  run.produce(500);
  stop_and_check_ledger(run, consumer, data_dir);
}

TEST_CASE("a full disk at start: a clear error, exit 1, and no half-made store left behind") {
  if (!can_mount()) {
    MESSAGE("skipped: mounting a tmpfs needs root");
    return;
  }
  Run run;
  SmallTmpfs disk(run.dir.path() / "disk", 1 << 20);
  run.produce(10);
  disk.fill();
  const auto data_dir = disk.path() / "ckpt";
  const auto r = run_cli(run.consume_args(data_dir));
  CHECK(r.exit_code == 1);
  CHECK_MESSAGE(contains(r.err, "streamckpt: error: cannot open data directory " + data_dir.string() + ": "), r.err);
  CHECK(contains(r.err, "No space left on device"));
  CHECK_FALSE(std::filesystem::exists(data_dir));
  CHECK(run.handled() == 0);

  // With space, the same command starts from the beginning.
  disk.free_space();
  auto args = run.consume_args(data_dir);
  args.insert(args.end(), {"--idle-exit-ms", "300"});
  const auto second = run_cli(args);
  CHECK_MESSAGE(second.exit_code == 0, second.err);
  CHECK(handled_numbers(read_file(run.sink())) == one_to(10));
}

TEST_CASE("the file sink's file on a tmpfs that fills up: consumption pauses, says why, and resumes exactly once") {
  if (!can_mount()) {
    MESSAGE("skipped: mounting a tmpfs needs root");
    return;
  }
  Run run;
  SmallTmpfs disk(run.dir.path() / "disk", 1 << 20);
  run.sink_path = disk.path() / "out.jsonl";
  run.produce(100);
  const auto data_dir = run.dir.path() / "ckpt";
  CliProcess consumer(run.consume_args(data_dir), run.dir.path());
  REQUIRE(eventually([&] { return run.handled() == 100; }));

  disk.fill();
  run.produce(500);
  const auto paused = [&] { return contains(consumer.err(), "; consumption pauses, retrying until it succeeds"); };
  REQUIRE_MESSAGE(eventually([&] { return paused() || !consumer.running(); }), consumer.err());
  REQUIRE_MESSAGE(consumer.running(), consumer.err());
  CHECK(contains(consumer.err(), "streamckpt: writing to " + run.sink().string() +
                                     " failed: No space left on device; consumption pauses"));
  // Nothing more is handled while the disk is full: what the file holds is
  // what was acked.
  const auto held = run.handled();
  CHECK(held < static_cast<std::size_t>(run.produced));

  disk.free_space();
  REQUIRE(eventually([&] { return contains(consumer.err(), "streamckpt: the sink is written again"); }));
  stop_and_check_ledger(run, consumer, data_dir);
}

TEST_CASE("a stop while the file sink's disk is full: exit 0, and the next run handles what was not written, once") {
  if (!can_mount()) {
    MESSAGE("skipped: mounting a tmpfs needs root");
    return;
  }
  Run run;
  SmallTmpfs disk(run.dir.path() / "disk", 1 << 20);
  run.sink_path = disk.path() / "out.jsonl";
  run.produce(100);
  {
    CliProcess consumer(run.consume_args(run.dir.path() / "ckpt"), run.dir.path());
    REQUIRE(eventually([&] { return run.handled() == 100; }));
    disk.fill();
    run.produce(300);
    REQUIRE(eventually([&] { return contains(consumer.err(), "consumption pauses") || !consumer.running(); }));
    consumer.signal(SIGTERM);
    const auto r = consumer.wait();
    CHECK_MESSAGE(r.exit_code == 0, r.err);
  }
  disk.free_space();
  auto args = run.consume_args(run.dir.path() / "ckpt");
  args.insert(args.end(), {"--idle-exit-ms", "300"});
  const auto again = run_cli(args);
  REQUIRE_MESSAGE(again.exit_code == 0, again.err);
  CHECK(handled_numbers(read_file(run.sink())) == one_to(400));
}
