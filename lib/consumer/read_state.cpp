#include "consumer/read_state.hpp"

#include <fmt/format.h>

namespace streamckpt::detail {

using redis::Value;

ReadState::ReadState(Options options) : opt_(std::move(options)) {}

void ReadState::start_at(StreamId position, std::uint64_t entries_seen, StreamId max_deleted) {
  cursor_ = position;
  read_seen_ = entries_seen;
  xdel_counted_ = max_deleted;
  replay_cursor_ = StreamId::min();
}

void ReadState::on_reconnect() {
  replay_pending_ = true;
  replay_cursor_ = StreamId::min();
  wait_for_entries_ = false;
}

void ReadState::on_group_recreated() {
  replay_pending_ = true;
  replay_cursor_ = StreamId::min();
}

ReadState::Read ReadState::next_read() const {
  const auto count = std::to_string(opt_.batch);
  const auto block_ms = std::to_string(opt_.block.count());
  if (group_mode()) {
    if (replay_pending_)
      return {Kind::replay,
              {{"XREADGROUP", "GROUP", opt_.group, opt_.consumer, "COUNT", count, "STREAMS", opt_.stream,
                replay_cursor_.to_string()}},
              std::chrono::milliseconds{0}};
    return {Kind::fresh,
            {{"XREADGROUP", "GROUP", opt_.group, opt_.consumer, "COUNT", count, "BLOCK", block_ms, "STREAMS",
              opt_.stream, ">"}},
            opt_.block};
  }
  if (gap_checks_off_ || wait_for_entries_)
    return {gap_checks_off_ ? Kind::plain : Kind::wake_up,
            {{"XREAD", "COUNT", count, "BLOCK", block_ms, "STREAMS", opt_.stream, cursor_.to_string()}},
            opt_.block};
  // The stream's state and the read in one transaction, so that the state is
  // the one the read saw. No BLOCK: a transaction never blocks.
  return {Kind::checked,
          {{"MULTI"},
           {"XINFO", "STREAM", opt_.stream},
           {"XREAD", "COUNT", count, "STREAMS", opt_.stream, cursor_.to_string()},
           {"EXEC"}},
          std::chrono::milliseconds{0}};
}

ReadState::Outcome ReadState::on_error(const Value& reply) {
  Outcome out;
  const auto prefix = reply.error_prefix();
  if (prefix == std::string_view("UNBLOCKED")) {
    // Redis 7 unblocks a blocked XREADGROUP whose stream was deleted.
    out.then = Outcome::Then::check_stream;
    out.log.push_back(fmt::format("reading stream '{}' was interrupted: {}", opt_.stream, reply.str));
    return out;
  }
  if (prefix == std::string_view("NOGROUP")) {
    out.then = Outcome::Then::recreate_group;
    out.detail = reply.str;
    return out;
  }
  out.then = Outcome::Then::fail;
  if (prefix == std::string_view("WRONGTYPE")) {
    out.error = make_error_code(errc::wrong_type);
    out.detail = fmt::format("key '{}' is not a stream (WRONGTYPE): {}", opt_.stream, reply.str);
  } else {
    out.error = make_error_code(errc::redis_error);
    out.detail = fmt::format("reading stream '{}' failed: {}", opt_.stream, reply.str);
  }
  return out;
}

ReadState::Outcome ReadState::on_reply(const Read& read, std::vector<Value> replies, AckTracker& tracker,
                                       PendingLedger& ledger, Clock::time_point now) {
  Outcome out;
  auto protocol_error = [&out] {
    out.then = Outcome::Then::reconnect;
    out.error = make_error_code(errc::protocol_error);
    return std::move(out);
  };
  if (replies.size() != read.commands.size()) return protocol_error();

  std::optional<StreamState> state;
  Value reply;
  if (read.kind == Kind::checked) {
    auto& r = replies;
    if (r[0].is_error()) {
      // MULTI refused (an ACL without transactions): XINFO and XREAD ran on
      // their own, so this read stands, unchecked; later reads are plain.
      gap_checks_off_ = true;
      out.log.push_back(fmt::format(
          "cannot check for gaps while reading: MULTI was refused ({}); a gap is seen at the next start", r[0].str));
      reply = std::move(r[2]);
    } else if (r[3].is_array() && r[3].elements.size() == 2) {
      if (!r[3].elements[0].is_error())
        if (auto parsed = parse_xinfo_stream(r[3].elements[0])) state = *parsed;
      reply = std::move(r[3].elements[1]);
    } else {
      // EXEC failed as a whole (EXECABORT): name the command refused when
      // queued, if one was.
      reply = std::move(r[2].is_error() ? r[2] : (r[1].is_error() ? r[1] : r[3]));
    }
  } else {
    reply = std::move(replies[0]);
  }
  if (reply.is_error()) return on_error(reply);

  auto entries = parse_read_reply(std::move(reply));
  if (!entries) return protocol_error();
  if (read.kind == Kind::wake_up && !entries->empty()) {
    // Entries came: read them again, checked.
    wait_for_entries_ = false;
    return out;
  }
  if (read.kind == Kind::checked) wait_for_entries_ = entries->empty();

  if (state) {
    const auto last = entries->empty() ? std::nullopt : std::optional<StreamId>(entries->back().event.id);
    const auto loss = entries_lost(cursor_, read_seen_, *state, last, xdel_counted_);
    if (loss.entries) {
      if (state->max_deleted > xdel_counted_) xdel_counted_ = state->max_deleted;
      read_seen_ += loss.entries;
      gaps_.emplace_back(loss.covered_above, loss.entries);  // a checkpoint above it counts the loss
      out.gap = loss;
      out.log.push_back(fmt::format("GAP: {} {} deleted after {} before {} read; going on", loss.entries,
                                    loss.entries == 1 ? "entry was" : "entries were", cursor_.to_string(),
                                    loss.entries == 1 ? "it was" : "they were"));
    }
  }

  take_entries(*entries, read, tracker, ledger, out);
  if (read.kind == Kind::replay && entries->empty()) {
    replay_pending_ = false;
    ledger.replay_over();
  }
  if (!group_mode()) read_seen_ += out.batch.size();
  if (entries->empty() && read.kind != Kind::replay && read.kind != Kind::checked) {
    out.idle = true;
    if (now - last_check_ >= k_idle_check_interval) out.then = Outcome::Then::check_stream;
  }
  return out;
}

void ReadState::take_entries(std::vector<ReadEntry>& entries, const Read& read, AckTracker& tracker,
                             PendingLedger& ledger, Outcome& out) {
  // A pending entry given to this consumer again: XACKed when known handled,
  // delivered again when never handled here, left alone while in flight (its
  // commit XACKs it).
  auto again = [&](Event&& event) {
    switch (ledger.classify_again(event.id, tracker.was_delivered_outstanding(event.id))) {
      case PendingLedger::Again::xack:
        out.xack.push_back(event.id);
        break;
      case PendingLedger::Again::hand_out:
        out.again.push_back(std::move(event));
        break;
      case PendingLedger::Again::in_flight:
        break;
    }
  };
  for (auto& entry : entries) {
    const auto id = entry.event.id;
    const auto delivered = tracker.last_delivered();
    if (read.kind == Kind::replay) {
      replay_cursor_ = id;
      if (entry.deleted) {
        // Its payload is gone: nothing to hand out. XACK it so that it
        // leaves the pending list.
        ++out.deleted_pending;
        if (!ledger.known_handled(id))
          out.log.push_back(fmt::format("pending entry {} was deleted before it was handled", id.to_string()));
        out.xack.push_back(id);
        continue;
      }
      // Whatever its ID: claimed from another member, or delivered before a
      // crash, it is judged by what this consumer knows of it.
      again(std::move(entry.event));
      continue;
    }
    cursor_ = id;
    if (delivered && id <= *delivered) {
      // '>' gives what this consumer had read only after the group was
      // recreated below it (by another member, at its own checkpoint):
      // delivered again unless known (a duplicate, never a loss).
      if (group_mode()) again(std::move(entry.event));
      continue;  // plain mode: never hand out an entry twice
    }
    tracker.deliver(id);
    out.batch.push_back(std::move(entry.event));
  }
}

std::uint64_t ReadState::take_gaps_below(StreamId to) {
  std::uint64_t lost = 0;
  while (!gaps_.empty() && gaps_.front().first < to) {
    lost += gaps_.front().second;
    gaps_.pop_front();
  }
  return lost;
}

}  // namespace streamckpt::detail
