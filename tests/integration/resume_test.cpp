// A consumer stopped half-way resumes where it left off: every entry exactly
// once and in order, in group and in plain mode.
#include "cli.hpp"
#include "redis_server.hpp"
#include "sanitizer.hpp"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <numeric>
#include <random>
#include <thread>

using namespace streamckpt::test;

namespace {

constexpr int k_entries = 10000;

std::vector<std::string> consume_args(const RedisServer& redis, const TempDir& dir, bool group) {
  std::vector<std::string> args = {"consume",  "--redis",    redis.url(),
                                   "--stream", "orders",     "--consumer",
                                   "edge-7",   "--data-dir", (dir.path() / "ckpt").string()};
  if (group) {
    args.push_back("--group");
    args.push_back("billing");
  }
  return args;
}

std::vector<int> one_to(int n) {
  std::vector<int> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), 1);
  return v;
}

void stop_half_way_then_resume(bool group) {
  RedisServer redis;
  Client client(redis.port());
  TempDir dir;
  client.produce("orders", 1, k_entries);

  auto first_args = consume_args(redis, dir, group);
  first_args.insert(first_args.end(), {"--max-events", "4000"});
  const auto first = run_cli(first_args);
  REQUIRE_MESSAGE(first.exit_code == 0, first.err);
  const auto first_handled = handled_numbers(first.out);
  REQUIRE(first_handled.size() == 4000u);

  auto second_args = consume_args(redis, dir, group);
  second_args.insert(second_args.end(), {"--idle-exit-ms", "300"});
  const auto second = run_cli(second_args);
  REQUIRE_MESSAGE(second.exit_code == 0, second.err);
  CHECK(second.err.find("source: local") != std::string::npos);

  auto all = first_handled;
  const auto rest = handled_numbers(second.out);
  CHECK(rest.front() == 4001);
  all.insert(all.end(), rest.begin(), rest.end());
  CHECK(all == one_to(k_entries));  // every entry, exactly once, in order

  if (group) {  // everything handled was XACKed
    const auto pending = client.run({"XPENDING", "orders", "billing"});
    CHECK(pending->element[0]->integer == 0);
  }
}

// SIGTERM at random moments while entries keep arriving: each run stops
// cleanly (exit 0) and the runs together handle every entry exactly once.
void sigterm_at_random_moments(bool group, unsigned seed) {
  RedisServer redis;
  Client client(redis.port());
  TempDir dir;
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> delay_ms(5, 120);

  std::vector<int> handled;
  int produced = 0;
  for (int run = 0; run < 12; ++run) {
    client.produce("orders", produced + 1, 500);
    produced += 500;
    CliProcess p(consume_args(redis, dir, group), dir.path());
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
    p.signal(SIGTERM);
    const auto r = p.wait();
    // A signal that arrives before the program has installed its handler
    // (while it is still being loaded) ends it before it handled anything.
    if (r.exit_code == -SIGTERM) {
      CHECK(r.out.empty());
      continue;
    }
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    const auto got = handled_numbers(r.out);
    handled.insert(handled.end(), got.begin(), got.end());
  }
  auto last_args = consume_args(redis, dir, group);
  last_args.insert(last_args.end(), {"--idle-exit-ms", "300"});
  const auto last = run_cli(last_args);
  REQUIRE_MESSAGE(last.exit_code == 0, last.err);
  const auto got = handled_numbers(last.out);
  handled.insert(handled.end(), got.begin(), got.end());
  CHECK(handled == one_to(produced));
}

// Whether the file system under `dir` keeps user extended attributes, as the
// file sink's mark needs (tmpfs before Linux 6.6 does not).
bool keeps_user_attributes(const std::filesystem::path& dir) {
  const auto probe = dir / "attribute-probe";
  { std::ofstream{probe}; }
  const bool kept = ::setxattr(probe.c_str(), "user.probe", "1", 1, 0) == 0;
  std::filesystem::remove(probe);
  return kept;
}

}  // namespace

TEST_CASE("group mode: stopped after 4000 of 10000 entries, a restart handles the rest exactly once in order") {
  stop_half_way_then_resume(true);
}

TEST_CASE("plain mode: stopped after 4000 of 10000 entries, a restart handles the rest exactly once in order") {
  stop_half_way_then_resume(false);
}

// Not under ThreadSanitizer: there about one SIGTERM in a few hundred that
// reached the program while it started up never reached its handler (the
// program idled on, no signal pending; the runtime defers signals, and why
// this one was lost is not pinned down). Every other build runs these; the
// stop path itself runs under ThreadSanitizer in the tests that signal a
// program once it has started.
TEST_CASE("group mode: SIGTERM at random moments never loses or repeats an entry" * doctest::skip(k_thread_sanitizer)) {
  sigterm_at_random_moments(true, 7);
}

TEST_CASE("plain mode: SIGTERM at random moments never loses or repeats an entry" * doctest::skip(k_thread_sanitizer)) {
  sigterm_at_random_moments(false, 11);
}

TEST_CASE("group mode: pending entries at or below the checkpoint are XACKed, not handed out again") {
  RedisServer redis;
  Client client(redis.port());
  TempDir dir;
  client.produce("orders", 1, 20);
  auto args = consume_args(redis, dir, true);
  auto first_args = args;
  first_args.insert(first_args.end(), {"--max-events", "10"});
  REQUIRE(run_cli(first_args).exit_code == 0);

  // Simulate XACKs lost in a crash: deliver entries 1..10 to this consumer
  // again so they sit in its pending list although the checkpoint covers them.
  client.run({"XGROUP", "SETID", "orders", "billing", "0"});
  const auto reread = client.run({"XREADGROUP", "GROUP", "billing", "edge-7", "COUNT", "10", "STREAMS", "orders", ">"});
  REQUIRE(reread->type == REDIS_REPLY_ARRAY);
  // The first run read all 20 in one batch and handled 10: 11..20 stayed
  // pending (never handed out), and 1..10 are pending again.
  CHECK(client.run({"XPENDING", "orders", "billing"})->element[0]->integer == 20);

  auto second_args = args;
  second_args.insert(second_args.end(), {"--idle-exit-ms", "300"});
  const auto second = run_cli(second_args);
  REQUIRE_MESSAGE(second.exit_code == 0, second.err);
  CHECK(handled_numbers(second.out) == std::vector<int>{11, 12, 13, 14, 15, 16, 17, 18, 19, 20});
  CHECK(client.run({"XPENDING", "orders", "billing"})->element[0]->integer == 0);
}

TEST_CASE("switching from the stdout sink to a file that already holds lines is refused, and the file is kept") {
  RedisServer redis;
  TempDir dir;
  Client(redis.port()).produce("orders", 1, 10);
  auto args = consume_args(redis, dir, true);
  args.insert(args.end(), {"--max-events", "5"});
  const auto first = run_cli(args);
  REQUIRE_MESSAGE(first.exit_code == 0, first.err);
  // The user kept the stdout lines in a file, then points the file sink at it.
  const auto file = dir.path() / "out.jsonl";
  { std::ofstream(file) << first.out; }
  auto with_file = consume_args(redis, dir, true);
  with_file.insert(with_file.end(), {"--sink", "file:" + file.string(), "--idle-exit-ms", "300"});
  const auto refused = run_cli(with_file);
  CHECK(refused.exit_code == 1);
  CHECK(refused.err.find("streamckpt: error: sink file " + file.string() + " has " + std::to_string(first.out.size()) +
                         " bytes, but the checkpoint records no file length (it was made with the stdout sink, or "
                         "by 'checkpoint set'), so nothing says which of them were handled; move the file away or "
                         "choose another file\n") != std::string::npos);
  CHECK(read_file(file) == first.out);

  // Moved away: the sink starts the file empty and writes the rest.
  std::filesystem::rename(file, dir.path() / "kept.jsonl");
  const auto rest = run_cli(with_file);
  REQUIRE_MESSAGE(rest.exit_code == 0, rest.err);
  CHECK(handled_numbers(read_file(file)) == std::vector<int>{6, 7, 8, 9, 10});
}

TEST_CASE("a file sink refuses, and keeps, a file that is not this consumer's output; its own file restarts") {
  RedisServer redis;
  TempDir dir;
  Client(redis.port()).produce("orders", 1, 10);
  const auto file = dir.path() / "out.jsonl";
  const auto with_file = [&](const std::string& consumer, const std::string& data_dir = "ckpt") {
    auto args = consume_args(redis, dir, true);
    args[6] = consumer;
    args[8] = (dir.path() / data_dir).string();
    args.insert(args.end(), {"--sink", "file:" + file.string(), "--idle-exit-ms", "300"});
    return args;
  };

  // A file of the user's, and no checkpoint.
  { std::ofstream(file) << "precious\n"; }
  const auto refused = run_cli(with_file("edge-7"));
  CHECK(refused.exit_code == 1);
  CHECK(refused.err.find("streamckpt: error: sink file " + file.string() +
                         " has 9 bytes, and no checkpoint of this consumer records them (a mistyped --data-dir or "
                         "consumer name, or a file this sink did not write), so they are not this sink's output; "
                         "move the file away or choose another file\n") != std::string::npos);
  CHECK(read_file(file) == "precious\n");

  if (!keeps_user_attributes(dir.path())) {
    MESSAGE("the rest needs user extended attributes, which the file system of ", dir.path().string(), " lacks");
    return;
  }
  std::filesystem::rename(file, dir.path() / "kept.jsonl");
  const auto first = run_cli(with_file("edge-7"));
  REQUIRE_MESSAGE(first.exit_code == 0, first.err);
  const auto written = read_file(file);
  REQUIRE(handled_numbers(written) == one_to(10));

  // Another consumer (a mistyped name): the file carries edge-7's mark.
  const auto other = run_cli(with_file("edge-8"));
  CHECK(other.exit_code == 1);
  CHECK(other.err.find("streamckpt: error: sink file " + file.string() + " carries another consumer's mark") !=
        std::string::npos);
  CHECK(read_file(file) == written);

  // A mistyped data directory: the Redis copy would cut the file back to what
  // it recorded, which may lag behind.
  const auto typo = run_cli(with_file("edge-7", "ckpt-typo"));
  CHECK(typo.exit_code == 1);
  const auto typo_dir = std::filesystem::canonical(dir.path() / "ckpt-typo").string();
  const auto typo_refusal = "streamckpt: error: sink file " + file.string() +
                            " was written by this consumer with another data directory than " + typo_dir +
                            " (a mistyped --data-dir, or a directory that was moved or lost); use that data "
                            "directory, or, for this one to go on with the file, remove the mark with 'setfattr -x "
                            "user.streamckpt.sink-owner " +
                            file.string() + "'\n";
  CHECK(typo.err.find(typo_refusal) != std::string::npos);
  CHECK(read_file(file) == written);
  // Start-up has re-seeded the mistyped directory from the Redis copy by now;
  // the file is refused all the same.
  const auto typo_again = run_cli(with_file("edge-7", "ckpt-typo"));
  CHECK(typo_again.exit_code == 1);
  CHECK(typo_again.err.find(typo_refusal) != std::string::npos);
  CHECK(read_file(file) == written);

  // After 'checkpoint reset' the file is still this consumer's: it starts
  // empty, and holds every entry once.
  const auto reset = run_cli({"checkpoint", "reset", "--redis", redis.url(), "--stream", "orders", "--group", "billing",
                              "--consumer", "edge-7", "--data-dir", (dir.path() / "ckpt").string()});
  REQUIRE_MESSAGE(reset.exit_code == 0, reset.err);
  // It says that the group keeps its position; the test moves it back.
  CHECK(reset.out.find("group 'billing' keeps its position") != std::string::npos);
  Client(redis.port()).run({"XGROUP", "SETID", "orders", "billing", "0"});
  const auto again = run_cli(with_file("edge-7"));
  REQUIRE_MESSAGE(again.exit_code == 0, again.err);
  CHECK(again.err.find("streamckpt: sink file " + file.string() + " cut from " + std::to_string(written.size()) +
                       " to 0 bytes: it is this consumer's, and no checkpoint records any of it\n") !=
        std::string::npos);
  CHECK(read_file(file) == written);
}

TEST_CASE("a sink file another process holds locked is refused and left alone; unlocked, it is written") {
  RedisServer redis;
  TempDir dir;
  Client(redis.port()).produce("orders", 1, 10);
  const auto file = dir.path() / "out.jsonl";
  auto args = consume_args(redis, dir, true);
  args.insert(args.end(), {"--sink", "file:" + file.string(), "--idle-exit-ms", "300"});
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  REQUIRE(fd >= 0);
  REQUIRE(::flock(fd, LOCK_EX) == 0);
  const auto refused = run_cli(args);
  CHECK(refused.exit_code == 1);
  CHECK(refused.err.find("streamckpt: error: sink file " + file.string() +
                         " is in use: another streamckpt consume (or another process) holds its lock; give each "
                         "consumer its own file\n") != std::string::npos);
  CHECK(read_file(file).empty());
  ::close(fd);
  const auto written = run_cli(args);
  REQUIRE_MESSAGE(written.exit_code == 0, written.err);
  CHECK(handled_numbers(read_file(file)) == one_to(10));

  // A running consume holds it: a second one, from another data directory,
  // is refused before its start-up touches anything.
  auto running_args = consume_args(redis, dir, true);
  running_args.insert(running_args.end(), {"--sink", "file:" + file.string()});
  CliProcess running(running_args, dir.path());
  bool started = false;
  for (int i = 0; i < 1500 && !started; ++i) {
    started = running.err().find("resume after") != std::string::npos;
    if (!started) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  REQUIRE(started);
  auto second = consume_args(redis, dir, true);
  second[8] = (dir.path() / "other-ckpt").string();
  second.insert(second.end(), {"--sink", "file:" + file.string(), "--idle-exit-ms", "300"});
  const auto refused_second = run_cli(second);
  CHECK(refused_second.exit_code == 1);
  CHECK(refused_second.err.find(" is in use: another streamckpt consume") != std::string::npos);
  CHECK(refused_second.err.find("resume after") == std::string::npos);
  running.signal(SIGTERM);
  CHECK(running.wait().exit_code == 0);
  CHECK(handled_numbers(read_file(file)) == one_to(10));
}

// The sink also fsyncs the target's directory then; that is seen with strace,
// not here.
TEST_CASE("a sink path that is a symlink to a missing file: the target is created and written, the link kept") {
  RedisServer redis;
  TempDir dir;
  Client(redis.port()).produce("orders", 1, 10);
  std::filesystem::create_directory(dir.path() / "out");
  const auto target = dir.path() / "out" / "orders.jsonl";
  const auto link = dir.path() / "orders.jsonl";
  std::filesystem::create_symlink(target, link);
  auto args = consume_args(redis, dir, true);
  args.insert(args.end(), {"--sink", "file:" + link.string(), "--idle-exit-ms", "300"});
  const auto first = run_cli(args);
  REQUIRE_MESSAGE(first.exit_code == 0, first.err);
  CHECK(std::filesystem::is_symlink(link));
  CHECK(handled_numbers(read_file(target)) == one_to(10));

  // It is this consumer's own file now: a restart goes on in it.
  Client(redis.port()).produce("orders", 11, 5);
  const auto second = run_cli(args);
  REQUIRE_MESSAGE(second.exit_code == 0, second.err);
  CHECK(std::filesystem::is_symlink(link));
  CHECK(handled_numbers(read_file(target)) == one_to(15));
}
