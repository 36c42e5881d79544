// kill -9 at random moments, hundreds of times, while a producer adds
// entries. With the file sink the file ends up holding every entry exactly
// once, in order; with the stdout sink nothing is lost, and only kill -9
// runs (never SIGTERM runs) cause duplicates.
#include "cli.hpp"
#include "redis_server.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <csignal>
#include <map>
#include <random>
#include <thread>

using namespace streamckpt::test;

namespace {

// Adds entries n = 1, 2, … in small bursts until stopped.
class Producer {
 public:
  explicit Producer(int port) : thread_([this, port] { run(port); }) {}
  ~Producer() { stop(); }
  void stop() {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int produced() const { return produced_; }

 private:
  void run(int port) {
    Client client(port);
    while (!stopping_) {
      client.produce("orders", produced_ + 1, 7);
      produced_ += 7;
      std::this_thread::sleep_for(std::chrono::milliseconds(3));
    }
  }
  std::atomic<bool> stopping_{false};
  std::atomic<int> produced_{0};
  std::thread thread_;
};

// Half the runs are signalled at a random moment after start-up has decided
// where to resume (its line on stderr), the others at a random moment from
// their start: so both the start-up and the steady state are interrupted,
// also on a build that starts slowly (the sanitizers').
void after_start_up_on_odd_runs(CliProcess& p, int run) {
  if (run % 2 == 0) return;
  while (p.running() && p.err().find("resume after") == std::string::npos)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
}

std::vector<std::string> args_for(const RedisServer& redis, const TempDir& dir, bool group, const std::string& sink) {
  std::vector<std::string> a = {"consume",  "--redis",    redis.url(),
                                "--stream", "orders",     "--consumer",
                                "edge-7",   "--data-dir", (dir.path() / "ckpt").string(),
                                "--sink",   sink,         "--batch",
                                "20"};
  if (group) a.insert(a.end(), {"--group", "billing"});
  return a;
}

void file_sink_survives_kill_9(bool group, int kills, unsigned seed) {
  RedisServer redis;
  TempDir dir;
  const auto path = dir.path() / "out.jsonl";
  const auto args = args_for(redis, dir, group, "file:" + path.string());
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> delay_us(0, 60000);

  Producer producer(redis.port());
  for (int i = 0; i < kills; ++i) {
    CliProcess p(args, dir.path());
    after_start_up_on_odd_runs(p, i);
    std::this_thread::sleep_for(std::chrono::microseconds(delay_us(rng)));
    p.signal(SIGKILL);
    const auto r = p.wait();
    REQUIRE_MESSAGE((r.exit_code == -SIGKILL || r.exit_code == 0), r.err);
  }
  producer.stop();
  // The killed runs did real work: the file holds entries before the last run.
  const auto before_last = handled_numbers(read_file(path)).size();
  CHECK(before_last > 0);
  auto last = args;
  last.insert(last.end(), {"--idle-exit-ms", "500"});
  const auto r = run_cli(last);
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  MESSAGE("entries: ", producer.produced(), ", written by killed runs (before truncation): ", before_last);

  const auto handled = handled_numbers(read_file(path));
  std::vector<int> expected(static_cast<std::size_t>(producer.produced()));
  for (std::size_t i = 0; i < expected.size(); ++i) expected[i] = static_cast<int>(i) + 1;
  CHECK(handled.size() == expected.size());
  CHECK(handled == expected);  // every entry exactly once, in order
}

}  // namespace

TEST_CASE("group mode, file sink: 200 kill -9 at random moments leave every entry exactly once, in order") {
  file_sink_survives_kill_9(true, 200, 101);
}

TEST_CASE("plain mode, file sink: 200 kill -9 at random moments leave every entry exactly once, in order") {
  file_sink_survives_kill_9(false, 200, 202);
}

TEST_CASE("stdout sink: no entry is lost, and only kill -9 runs cause duplicates, never SIGTERM runs") {
  for (const bool group : {true, false}) {
    CAPTURE(group);
    RedisServer redis;
    TempDir dir;
    const auto args = args_for(redis, dir, group, "stdout");
    std::mt19937 rng(group ? 303 : 404);
    std::uniform_int_distribution<int> delay_us(0, 60000);
    std::bernoulli_distribution use_kill(0.5);

    // For each entry: how often it was handled, and whether its first
    // handling was in a run that ended by kill -9.
    std::map<int, int> times;
    std::map<int, bool> first_in_killed_run;
    int kill_runs = 0, term_runs = 0;
    const auto record = [&](const std::string& out, bool killed) {
      for (const int n : handled_numbers(out)) {
        if (times[n]++ == 0) first_in_killed_run[n] = killed;
      }
    };

    Producer producer(redis.port());
    for (int i = 0; i < 100; ++i) {
      const bool kill = use_kill(rng);
      CliProcess p(args, dir.path());
      after_start_up_on_odd_runs(p, i);
      std::this_thread::sleep_for(std::chrono::microseconds(delay_us(rng)));
      p.signal(kill ? SIGKILL : SIGTERM);
      const auto r = p.wait();
      if (r.exit_code == -SIGTERM) {
        // Ended while still loading, before its handler was installed.
        CHECK_MESSAGE(r.out.empty(), "stdout: ", r.out, "\nstderr: ", r.err);
        continue;
      }
      REQUIRE_MESSAGE((r.exit_code == (kill ? -SIGKILL : 0) || r.exit_code == 0), r.err);
      record(r.out, kill && r.exit_code != 0);
      (kill ? kill_runs : term_runs)++;
    }
    producer.stop();
    auto last = args;
    last.insert(last.end(), {"--idle-exit-ms", "500"});
    const auto r = run_cli(last);
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    record(r.out, false);

    CHECK(kill_runs > 10);
    CHECK(term_runs > 10);
    int lost = 0, duplicated = 0, duplicated_after_term = 0;
    for (int n = 1; n <= producer.produced(); ++n) {
      if (times[n] == 0) ++lost;
      if (times[n] > 1) {
        ++duplicated;
        if (!first_in_killed_run[n]) ++duplicated_after_term;
      }
    }
    CHECK(lost == 0);
    CHECK(duplicated_after_term == 0);
    MESSAGE("entries: ", producer.produced(), ", duplicated after kill -9: ", duplicated);
  }
}
