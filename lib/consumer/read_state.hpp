// ReadState (sans-io): the consumer's reading. It says which read to issue
// next (a replay of the pending list, '>', a plain read, a read checked for
// gaps in a transaction, or the blocking read that waits for entries once a
// checked read found none) and what its reply means: entries to hand out,
// entries only to XACK, entries to deliver again, a gap, an idle tick, a look
// at whether the stream went backwards, a group to recreate, or an error.
//
// Consumer::Impl sends the reads, feeds the replies in and executes the
// outcome; nothing here touches a socket or a clock.
#pragma once

#include "consumer/ack_tracker.hpp"
#include "consumer/gap.hpp"
#include "consumer/pending_ledger.hpp"
#include "consumer/stream_reply.hpp"
#include "redis/resp.hpp"

#include <streamckpt/consumer.hpp>
#include <streamckpt/error.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace streamckpt::detail {

class ReadState {
 public:
  using Clock = std::chrono::steady_clock;

  // An idle stream is looked at this often: it may be idle because it was
  // flushed or deleted.
  static constexpr std::chrono::seconds k_idle_check_interval{5};

  struct Options {
    std::string stream;
    std::string group;  // empty: plain mode (XREAD)
    std::string consumer;
    std::size_t batch = 0;
    std::chrono::milliseconds block{0};
  };

  enum class Kind {
    replay,   // group: XREADGROUP from replay_cursor over our pending list
    fresh,    // group: XREADGROUP '>' with BLOCK
    plain,    // plain: XREAD BLOCK, gap checks off
    checked,  // plain: MULTI, XINFO STREAM, XREAD (no BLOCK), EXEC
    wake_up   // plain: XREAD BLOCK after a checked read found nothing
  };

  struct Read {
    Kind kind = Kind::plain;
    std::vector<redis::Command> commands;   // one, or the transaction's four
    std::chrono::milliseconds deadline{0};  // how long the reply may take beyond the link's own; 0: none
  };

  struct Outcome {
    enum class Then {
      go_on,           // execute the rest and read again
      check_stream,    // look whether the stream went backwards, then go on
      recreate_group,  // NOGROUP: look at the stream, then recreate the group at the durable checkpoint
      reconnect,       // the reply made no sense: close the connection (`error`)
      fail             // Redis refused the read for good (`error`, `detail`)
    };
    Then then = Then::go_on;
    Batch batch;                 // to hand out, delivered (in the tracker) in this order
    std::vector<Event> again;    // pending entries never handled here: to deliver again
    std::vector<StreamId> xack;  // known handled, or deleted while pending: XACK only
    bool idle = false;           // nothing arrived for `block`: an idle tick
    std::optional<Loss> gap;     // entries deleted before they were read
    std::size_t deleted_pending = 0;
    std::vector<std::string> log;
    boost::system::error_code error;
    std::string detail;
  };

  explicit ReadState(Options options);

  // Start-up decided the position; `entries_seen` there, and the
  // max-deleted-entry-id start-up has already counted.
  void start_at(StreamId position, std::uint64_t entries_seen, StreamId max_deleted);
  // A new connection. XREADGROUP '>' never returns entries whose reply was
  // lost with the old one: they sit in the pending list, so replay it.
  void on_reconnect();
  // The group was recreated: replay the pending list.
  void on_group_recreated();
  // The stream's state was looked at (now).
  void on_stream_checked(Clock::time_point now) { last_check_ = now; }

  [[nodiscard]] Read next_read() const;
  // The replies to `read` (as many as its commands), in order.
  [[nodiscard]] Outcome on_reply(const Read& read, std::vector<redis::Value> replies, AckTracker& tracker,
                                 PendingLedger& ledger, Clock::time_point now);

  // Entries counted lost below `to`, once an ack passes them: they join
  // entries_seen. Each gap is returned once.
  std::uint64_t take_gaps_below(StreamId to);

  bool group_mode() const { return !opt_.group.empty(); }
  bool replaying() const { return group_mode() && replay_pending_; }
  bool gap_checks() const { return !group_mode() && !gap_checks_off_; }
  StreamId cursor() const { return cursor_; }

 private:
  Outcome on_error(const redis::Value& reply);
  void take_entries(std::vector<ReadEntry>& entries, const Read& read, AckTracker& tracker, PendingLedger& ledger,
                    Outcome& out);

  Options opt_;
  StreamId cursor_;  // plain mode: the last entry read
  // Plain mode checks for a gap as it reads. `read_seen_` is entries_seen at
  // the cursor: what the stream had received up to it as far as this
  // consumer knows (read, or counted lost). A gap waits in `gaps_` (lost
  // above this position, how many) until an ack passes its position.
  std::uint64_t read_seen_ = 0;
  std::deque<std::pair<StreamId, std::uint64_t>> gaps_;
  StreamId xdel_counted_;          // the max-deleted-entry-id already counted as a gap
  bool wait_for_entries_ = false;  // a checked read found nothing: block until entries come
  bool gap_checks_off_ = false;    // the server refused MULTI: gaps are seen at start-up only
  bool replay_pending_ = true;     // group mode: replay our pending list before reading '>'
  StreamId replay_cursor_;
  Clock::time_point last_check_;
};

}  // namespace streamckpt::detail
