// A test scenario: a real redis-server, a stream of numbered entries, one
// consumer identity with its data directory, and the ledger of what the CLI
// handled.
#pragma once

#include "cli.hpp"
#include "redis_server.hpp"

#include <streamckpt/checkpoint.hpp>

#include <doctest/doctest.h>

#include <numeric>

namespace streamckpt::test {

class Scenario {
 public:
  explicit Scenario(bool group = true, std::vector<std::string> redis_args = {})
      : redis_(std::move(redis_args)), client_(redis_.port()), group_(group) {}

  Client& redis() { return client_; }
  RedisServer& server() { return redis_; }
  std::filesystem::path data_dir() const { return dir_.path() / "ckpt"; }
  const TempDir& dir() const { return dir_; }
  CheckpointKey key() const { return {"orders", group_ ? "billing" : "", "edge-7"}; }
  std::string hash_key() const { return std::string("streamckpt:{orders}:") + (group_ ? "billing" : "") + ":edge-7"; }

  // Adds entries n = next … next + count - 1; returns their IDs.
  std::vector<std::string> produce(int count) {
    auto ids = client_.produce("orders", next_, count);
    next_ += count;
    return ids;
  }
  int produced() const { return next_ - 1; }

  std::vector<std::string> identity_args() const {
    std::vector<std::string> a = {"--redis",    redis_.url(), "--stream",   "orders",
                                  "--consumer", "edge-7",     "--data-dir", data_dir().string()};
    if (group_) a.insert(a.end(), {"--group", "billing"});
    return a;
  }

  // `consume`, this consumer's identity, then `extra`.
  std::vector<std::string> consume_args(const std::vector<std::string>& extra) const {
    std::vector<std::string> args = {"consume"};
    const auto id = identity_args();
    args.insert(args.end(), id.begin(), id.end());
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  // Runs `streamckpt consume` with `extra`, adds what it handled to the
  // ledger, and returns the result.
  CliResult consume(std::vector<std::string> extra) {
    auto r = run_cli(consume_args(extra));
    const auto got = handled_numbers(r.out);
    handled_.insert(handled_.end(), got.begin(), got.end());
    return r;
  }
  CliResult consume_n(int n) { return consume({"--max-events", std::to_string(n)}); }
  CliResult consume_rest() { return consume({"--idle-exit-ms", "300"}); }

  CliResult checkpoint(const std::string& sub, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"checkpoint", sub};
    const auto id = identity_args();
    args.insert(args.end(), id.begin(), id.end());
    args.insert(args.end(), extra.begin(), extra.end());
    return run_cli(args);
  }

  const std::vector<int>& handled() const { return handled_; }

  static std::vector<int> range(int first, int last) {
    std::vector<int> v;
    for (int i = first; i <= last; ++i) v.push_back(i);
    return v;
  }

  // A field of the Redis copy ("" when missing).
  std::string hash_field(const std::string& field) {
    auto r = client_.run({"HGET", hash_key(), field});
    return r->type == REDIS_REPLY_STRING ? std::string(r->str, r->len) : std::string{};
  }

 private:
  RedisServer redis_;
  Client client_;
  TempDir dir_;
  bool group_;
  int next_ = 1;
  std::vector<int> handled_;
};

}  // namespace streamckpt::test
