// Connection: one Redis connection whose socket Asio owns; hiredis is only the
// codec. Requests are pipelined: they are written as they come and matched to
// replies in FIFO order.
//
// Every request has a deadline (command_timeout, plus the BLOCK time the
// caller declares). Redis cannot cancel a command, so a missed deadline or a
// broken socket closes the connection and fails every pending request with
// errc::command_timeout or errc::outcome_unknown: the command may or may not
// have run. A request made while closed fails at once with
// errc::connection_closed (it was never sent). Reconnecting is the caller's
// decision: call connect() again.
//
// A reply of LOADING, BUSY, MASTERDOWN or "max number of clients" means
// Redis cannot serve anything yet. It closes the connection too: its request fails with
// errc::redis_not_ready when it was a single command (which did not run),
// every other with errc::outcome_unknown. connect() ends with a PING, so it
// fails with errc::redis_not_ready until Redis is ready.
//
// In Cluster (redis+cluster://), every connect asks the nodes it knows (the
// last master first, then the URL's) for CLUSTER SHARDS and connects to the
// master of options.slot_key's slot. A command answered ASK is sent again to
// the node named, after ASKING (a transaction is not: it fails as not
// ready); MOVED, CLUSTERDOWN and TRYAGAIN drop the link as a not-ready reply
// does, so that the reconnect asks again.
//
// Behind Sentinel (redis+sentinel://), every connect asks the Sentinels where
// the master is, and checks with ROLE that the server reached is one
// (errc::redis_not_ready when not: a failover is in progress). A READONLY
// reply then drops the link as a not-ready one does: the master was demoted,
// and the reconnect asks again.
//
// Threading: every member must be called from the connection's executor,
// which must not run handlers concurrently (a single-threaded io_context or a
// strand).
#pragma once

#include "redis/resp.hpp"
#include "redis/url.hpp"

#include <streamckpt/options.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace streamckpt::redis {

struct ConnectionOptions {
  // Time allowed for resolve + connect + AUTH + SELECT. Default 2 s.
  std::chrono::milliseconds connect_timeout{2000};
  // Deadline of every request (the BLOCK time of a read is added). Default 2 s.
  std::chrono::milliseconds command_timeout{2000};
  // TLS files (rediss://): a CA bundle to verify the server, a client
  // certificate and key; tls_insecure skips verification.
  std::string tls_ca, tls_cert, tls_key;
  bool tls_insecure = false;
  // Cluster (redis+cluster://): the key whose slot's master the link talks
  // to; a consumer's stream, whose slot holds every key of its checkpoint.
  std::string slot_key;

  // A consumer's timeouts, TLS files and stream, for every link made for it.
  static ConnectionOptions of(const ConsumerOptions& options);
};

class Connection {
 public:
  Connection(boost::asio::any_io_executor executor, Url url, ConnectionOptions options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Closes any current socket, then connects, authenticates and selects the
  // database. On failure `detail` says what failed, for the user.
  boost::asio::awaitable<boost::system::error_code> connect(std::string* detail = nullptr);

  // Sends the commands in one write and returns their replies in order. Redis
  // error replies are values (Value::Type::error), not failures, except the
  // not-ready ones above; a failure is the connection's (closed, timeout,
  // outcome unknown, protocol error, not ready).
  boost::asio::awaitable<Result<std::vector<Value>>> exec(std::vector<Command> commands,
                                                          std::chrono::milliseconds block = std::chrono::milliseconds{
                                                              0});

  // Convenience for a single command.
  boost::asio::awaitable<Result<Value>> exec_one(Command command,
                                                 std::chrono::milliseconds block = std::chrono::milliseconds{0});

  // Closes the socket; pending requests fail with errc::outcome_unknown.
  void close();
  bool is_open() const;
  const Url& url() const;
  // Behind Sentinel (redis+sentinel://) or in Cluster (redis+cluster://): the
  // master the current or last link reached; nullopt before the first, and
  // for every other URL.
  std::optional<Url::Address> master() const;
  // The server, for messages: the URL without its password, or behind
  // Sentinel the master's name and address.
  std::string where() const;

  // Number of successful connects after the first.
  std::uint64_t reconnects() const;
  // The last such not-ready reply, for messages; "" for none.
  const std::string& not_ready_reply() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace streamckpt::redis
