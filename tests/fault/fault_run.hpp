// A fault test's world: a redis-server, a LinkProxy in front of it, one
// consumer identity with its data directory, the CLI consuming through the
// proxy, and producers writing straight to redis-server.
//
// Waits are bounded only to turn a hang into a failure: no assertion depends
// on how fast anything is.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cli.hpp"
#include "ledger.hpp"
#include "link_proxy.hpp"
#include "producer.hpp"
#include "redis_server.hpp"

namespace streamckpt::test {

using namespace std::chrono_literals;

// Polls `done` every 20 ms for at most `limit`; true once it holds.
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit = 60s);

inline constexpr Direction k_to_server = Direction::client_to_server;
inline constexpr Direction k_to_client = Direction::server_to_client;
inline const std::vector<bool> k_modes = {true, false};  // group mode, plain mode

// Short deadlines, so that a stalled link is noticed quickly.
inline const std::vector<std::string> k_quick_timeouts = {"--command-timeout-ms", "300", "--block-ms", "200",
                                                          "--connect-timeout-ms", "500"};

class FaultRun {
 public:
  explicit FaultRun(bool group, std::uint64_t seed = 1);

  bool group() const { return group_; }
  std::string mode() const { return group_ ? "group mode" : "plain mode"; }
  Client& redis() { return client_; }
  LinkProxy& proxy() { return proxy_; }
  std::string hash_key() const;

  // `streamckpt consume` through the proxy, with `extra` arguments; the
  // stdout sink, a short flush interval.
  void start(const std::vector<std::string>& extra = {});
  CliProcess& cli() { return *cli_; }
  // REQUIREs the resume line within the bound: start-up is over.
  void wait_started();

  // Entries straight to redis-server: now, or on a producer thread.
  void produce(int count);
  void produce_async(int count, int batch, std::chrono::milliseconds pause);
  // Joins the producer thread; its IDs join the ledger.
  void finish_producing();
  int produced() const { return static_cast<int>(ids_.size()); }
  const std::vector<std::string>& ids() const { return ids_; }

  // How many numbers the sink has written so far.
  std::size_t handled_so_far() const;
  // REQUIREs that the sink wrote the last produced number within the bound,
  // and in group mode that the pending list then empties (XACKs caught up).
  void wait_all_handled();

  // SIGTERM; REQUIREs a clean exit within the bound.
  CliResult stop();

  // After a clean stop of the only run: every produced entry exactly once and
  // in order; the stop line; the Redis copy at the last entry; in group mode
  // nothing pending.
  void check_clean_ledger(const CliResult& r);

  long long pending_count();
  // The IDs in the group's pending list.
  std::vector<std::string> pending_ids();
  std::string hash_field(const std::string& field);

 private:
  std::vector<std::string> identity_args() const;

  RedisServer server_;
  Client client_;
  LinkProxy proxy_;
  TempDir dir_;
  bool group_;
  std::vector<std::string> ids_;
  std::unique_ptr<Producer> producer_;
  std::unique_ptr<CliProcess> cli_;
};

std::string port_of(FaultRun& run);

// REQUIREs that stderr mentions `needle` `more` times more than now, within
// the bound, while the CLI keeps running.
void wait_for_more(FaultRun& run, const std::string& needle, int more = 1);

}  // namespace streamckpt::test
