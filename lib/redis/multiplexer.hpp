// Multiplexer (sans-io): a connection's request FIFO. Requests are encoded
// into one outgoing buffer as they come (pipelining) and matched to replies
// in order; each has a deadline. Connection moves the bytes and the time in
// and wakes the callers of what completes; nothing here touches a socket or
// a clock.
//
// What ends the connection (the caller closes it, and every request still
// queued fails): a missed deadline (errc::command_timeout: Redis cannot
// cancel a command, so the only way out of a stalled link is to drop it),
// bytes that are not RESP or a reply nobody asked for (errc::protocol_error),
// and a reply saying Redis cannot serve anything yet (LOADING, BUSY,
// MASTERDOWN, the client limit): its request fails with errc::redis_not_ready
// when it was a single command (which did not run), every other with
// errc::outcome_unknown (it may have run).
#pragma once

#include "redis/resp.hpp"

#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace streamckpt::redis {

// A reply that says Redis cannot serve any command yet: it is loading its
// data set (after a restart, or a replica's full sync), running a script past
// its time limit, a replica cut off from its master, or at its client limit.
// Waiting helps.
bool says_not_ready(const Value& reply);

class Multiplexer {
 public:
  using Clock = std::chrono::steady_clock;
  using Id = std::uint64_t;

  struct Completion {
    Id id = 0;
    boost::system::error_code ec;  // set: the request failed, `replies` is empty
    std::vector<Value> replies;    // one per command, in order
  };

  // What the bytes read meant.
  struct Read {
    std::vector<Completion> done;     // in request order
    boost::system::error_code close;  // set: the connection must be closed (the rest has failed too)
    std::string not_ready;            // the not-ready reply that closed it, if one did
  };

  // Queues the commands as one request, due by `deadline`.
  // REQUIRES: commands is not empty.
  Id add(const std::vector<Command>& commands, Clock::time_point deadline);
  // The bytes to write next, taken: empty when there are none.
  std::string take_output();
  bool has_output() const { return !output_.empty(); }

  [[nodiscard]] Read on_bytes(std::string_view bytes);
  // The earliest deadline of the requests queued, if any.
  std::optional<Clock::time_point> next_deadline() const;
  // True when a deadline has passed at `now`: the connection must be closed
  // with errc::command_timeout.
  bool expired(Clock::time_point now) const;
  // The connection ended: every request queued fails with `ec`, the output
  // not yet taken is dropped, and the decoder starts afresh for the next one.
  [[nodiscard]] std::vector<Completion> fail_all(boost::system::error_code ec);

  std::size_t queued() const { return requests_.size(); }

  // Error replies (by prefix) that drop the link as a not-ready reply does,
  // so that the caller reconnects and asks again where to go: behind
  // Sentinel READONLY (the master was demoted), in Cluster MOVED (the slot
  // moved), CLUSTERDOWN and TRYAGAIN. None by default: a
  // server named directly stays what it is.
  void set_dropping_errors(std::vector<std::string> prefixes) { dropping_errors_ = std::move(prefixes); }

 private:
  struct Request {
    Id id;
    std::size_t expected;
    std::vector<Value> replies;
    Clock::time_point deadline;
  };
  std::deque<Request> requests_;
  std::string output_;
  Decoder decoder_;
  Id next_id_ = 1;
  std::vector<std::string> dropping_errors_;
  bool drops(const Value& reply) const;
};

}  // namespace streamckpt::redis
