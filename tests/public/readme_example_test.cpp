// The README's library example, compiled from README.md as it stands, run as
// a user would: it handles every entry once, stops cleanly on SIGTERM, and a
// second run resumes after the last entry the first one handled.
#include "cli.hpp"
#include "redis_server.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <sstream>
#include <thread>

using namespace streamckpt::test;

namespace {

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Waits (without a time limit of its own: meson's timeout ends a hang) until
// the example has printed `count` lines, or has ended.
void wait_for_lines(CliProcess& example, std::size_t count) {
  while (lines(example.out()).size() < count && example.running())
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

std::vector<std::string> slice(const std::vector<std::string>& ids, std::size_t from, std::size_t to) {
  return {ids.begin() + static_cast<std::ptrdiff_t>(from), ids.begin() + static_cast<std::ptrdiff_t>(to)};
}

}  // namespace

TEST_CASE("the README example handles each entry once, stops on SIGTERM and resumes where it stopped") {
  RedisServer redis;
  Client client(redis.port());
  TempDir dir;
  const auto program = program_path("README_EXAMPLE");
  const auto data_dir = (dir.path() / "ckpt").string();
  auto ids = client.produce("orders", 1, 300);

  {
    CliProcess example(program, {redis.url(), data_dir}, dir.path());
    wait_for_lines(example, 300);
    example.signal(SIGTERM);
    const auto r = example.wait();
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.err == "");
    CHECK(lines(r.out) == ids);
  }

  const auto more = client.produce("orders", 301, 200);
  ids.insert(ids.end(), more.begin(), more.end());
  {
    CliProcess example(program, {redis.url(), data_dir}, dir.path());
    wait_for_lines(example, 200);
    example.signal(SIGTERM);
    const auto r = example.wait();
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(lines(r.out) == slice(ids, 300, 500));
  }
  // The group's pending list is empty: every entry was XACKed after its commit.
  const auto pending = client.run({"XPENDING", "orders", "billing"});
  REQUIRE(pending->type == REDIS_REPLY_ARRAY);
  CHECK(pending->element[0]->integer == 0);
}

TEST_CASE("the README example reports a start that fails and exits 1") {
  TempDir dir;
  const auto r = run_program(program_path("README_EXAMPLE"),
                             {"redis://127.0.0.1:" + std::to_string(free_port()), (dir.path() / "ckpt").string()});
  CHECK(r.exit_code == 1);
  CHECK(r.err.rfind("orders-consumer: cannot connect to 127.0.0.1:", 0) == 0);
}
