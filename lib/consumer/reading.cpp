#include "consumer/consumer_impl.hpp"
#include "consumer/gap.hpp"
#include "consumer/stream_reply.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fmt/format.h>

namespace streamckpt {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

// Batches read ahead while the application works: one is ready the moment it
// asks, and the next read is already on the wire.
constexpr std::size_t k_read_ahead = 2;

// Built outside the coroutine: GCC 12 miscompiles braced lists of string
// literals inside coroutines.
redis::Command read_command(const ConsumerOptions& opt, bool group_mode, bool replaying, StreamId cursor,
                            StreamId replay_cursor) {
  const auto count = std::to_string(opt.batch);
  const auto block_ms = std::to_string(opt.block.count());
  if (!group_mode) return {"XREAD", "COUNT", count, "BLOCK", block_ms, "STREAMS", opt.key.stream, cursor.to_string()};
  if (replaying)
    return {"XREADGROUP", "GROUP",   opt.key.group,  opt.key.consumer,         "COUNT",
            count,        "STREAMS", opt.key.stream, replay_cursor.to_string()};
  return {"XREADGROUP", "GROUP",  opt.key.group, opt.key.consumer, "COUNT", count,
          "BLOCK",      block_ms, "STREAMS",     opt.key.stream,   ">"};
}

// Plain mode: the stream's state and the read in one transaction, so that the
// state is the one the read saw. No BLOCK: a transaction never blocks.
std::vector<redis::Command> checked_read_commands(const ConsumerOptions& opt, StreamId cursor) {
  return {{"MULTI"},
          {"XINFO", "STREAM", opt.key.stream},
          {"XREAD", "COUNT", std::to_string(opt.batch), "STREAMS", opt.key.stream, cursor.to_string()},
          {"EXEC"}};
}

}  // namespace

asio::awaitable<void> Consumer::Impl::read_loop() {
  auto self = shared_from_this();
  while (!stopping && !fatal) {
    // Read ahead of the application (k_read_ahead batches), and never more
    // than max_in_flight events between read and durable ack.
    while (!stopping && !fatal &&
           (ready.size() >= k_read_ahead || commits.retry_pending() || in_flight() >= opt.max_in_flight))
      co_await space_signal.wait();
    if (stopping || fatal) break;

    if (!reads->is_open()) {
      if (auto ec = co_await connect_with_retry(*reads, false)) break;
      // XREADGROUP '>' never returns entries whose reply was lost with the
      // old connection: they sit in our pending list, so replay it.
      replay_pending = true;
      replay_cursor = StreamId::min();
      wait_for_entries = false;
      log(group_mode ? "reconnected; replaying the pending list" : "reconnected");
      // A Redis that restarted without persistence comes back empty.
      if (co_await stream_went_backwards()) break;
    }

    // Between reads, once the pending list is replayed: take over what
    // members that are gone left pending.
    error_code ec;
    if (group_mode && opt.claim_idle.count() > 0 && !replay_pending && Clock::now() >= next_claim)
      ec = co_await claim_once();
    else
      ec = co_await read_once();
    if (ec) {
      if (stopping) break;
      if (ec == errc::wrong_type || ec == errc::redis_error) {
        fail(ec, error_detail);
        break;
      }
      // The connection failed: back off, then reconnect at the top.
      const auto delay = read_backoff.next();
      log(fmt::format("read failed ({}); reconnecting in {} ms", ec.message(), delay.count()));
      co_await wait_unless_stopped(delay);
      continue;
    }
    read_backoff.reset();
  }
  read_loop_running = false;
  ready_signal.notify();
  loop_signal.notify();
}

void Consumer::Impl::take_again(Event&& event, std::vector<StreamId>& ack_now, std::vector<Event>& again) {
  const auto id = event.id;
  if (loaded_unxacked.erase(id) || xack_refused.erase(id)) unxacked.insert(id);
  if (unxacked.count(id) || recent_xacks.count(id)) {
    ack_now.push_back(id);  // handled and durable: only the XACK was lost (or Redis lost it)
  } else if (!tracker.was_delivered_outstanding(id) && !out_of_order.count(id) && !committing.count(id)) {
    again.push_back(std::move(event));  // neither handled nor in flight (in flight: XACKed once durable)
  }
}

asio::awaitable<error_code> Consumer::Impl::read_once() {
  auto self = shared_from_this();
  const bool replaying = group_mode && replay_pending;
  // Plain mode reads are checked for a gap (entries trimmed or XDELed before
  // they were read), except the blocking read that waits for entries once a
  // checked read found none: what that one returns is read again, checked.
  const bool gap_checks = !group_mode && !gap_checks_off;
  const bool checked = gap_checks && !wait_for_entries;
  const bool wake_up = gap_checks && wait_for_entries;
  const StreamId read_from = cursor;
  std::optional<StreamState> state;
  std::optional<redis::Value> reply;
  if (checked) {
    auto replies = co_await reads->exec(checked_read_commands(opt, cursor), std::chrono::milliseconds{0});
    if (!replies) co_return replies.error();
    if (replies->size() != 4) co_return make_error_code(errc::protocol_error);
    auto& r = *replies;
    if (r[0].is_error()) {
      // MULTI refused (an ACL without transactions): XINFO and XREAD ran on
      // their own, so this read stands, unchecked; later reads are plain.
      gap_checks_off = true;
      log(fmt::format("cannot check for gaps while reading: MULTI was refused ({}); a gap is seen at the next start",
                      r[0].str));
      reply = std::move(r[2]);
    } else if (r[3].is_array() && r[3].elements.size() == 2) {
      if (auto parsed = r[3].elements[0].is_error() ? Result<StreamState>(errc::redis_error)
                                                    : detail::parse_xinfo_stream(r[3].elements[0]))
        state = *parsed;
      reply = std::move(r[3].elements[1]);
    } else {
      // EXEC failed as a whole (EXECABORT): name the command refused when
      // queued, if one was.
      reply = std::move(r[2].is_error() ? r[2] : (r[1].is_error() ? r[1] : r[3]));
    }
  } else {
    auto one = co_await reads->exec_one(read_command(opt, group_mode, replaying, cursor, replay_cursor),
                                        replaying ? std::chrono::milliseconds{0} : opt.block);
    if (!one) co_return one.error();
    reply = std::move(*one);
  }
  if (reply->is_error()) {
    const auto prefix = reply->error_prefix();
    // Redis 7 unblocks a blocked XREADGROUP whose stream was deleted with
    // "UNBLOCKED the stream key no longer exists".
    if (prefix == std::string_view("UNBLOCKED")) {
      log(fmt::format("reading stream '{}' was interrupted: {}", opt.key.stream, reply->str));
      co_await stream_went_backwards();
      co_return error_code{};
    }
    if (prefix == std::string_view("NOGROUP")) {
      if (co_await stream_went_backwards()) co_return error_code{};
      // The group (or the whole stream) was deleted while we ran: recreate it
      // at our durable checkpoint, never at 0 or $, then replay.
      log(fmt::format("group '{}' is gone ({}); recreating it at {}", opt.key.group, reply->str,
                      commits.durable().to_string()));
      auto create =
          redis::command("XGROUP", "CREATE", opt.key.stream, opt.key.group, commits.durable().to_string(), "MKSTREAM");
      auto created = co_await cmds->exec_one(std::move(create));
      if (!created) co_return created.error();
      ++metrics.groups_lost;
      if (created->error_prefix() == std::string_view("BUSYGROUP"))
        log(
            fmt::format("group '{}' was recreated by another member first; entries handled above its position "
                        "may be delivered again",
                        opt.key.group));
      replay_pending = true;
      replay_cursor = StreamId::min();
      co_return error_code{};
    }
    const bool wrong_type = prefix == std::string_view("WRONGTYPE");
    if (wrong_type)
      error_detail = fmt::format("key '{}' is not a stream (WRONGTYPE): {}", opt.key.stream, reply->str);
    else
      error_detail = fmt::format("reading stream '{}' failed: {}", opt.key.stream, reply->str);
    co_return make_error_code(wrong_type ? errc::wrong_type : errc::redis_error);
  }

  auto entries = detail::parse_read_reply(std::move(*reply));
  if (!entries) {
    reads->close();
    co_return entries.error();
  }
  if (wake_up && !entries->empty()) {
    wait_for_entries = false;
    co_return error_code{};
  }
  if (checked) wait_for_entries = entries->empty();
  if (state) {
    const auto last = entries->empty() ? std::nullopt : std::optional<StreamId>(entries->back().event.id);
    const auto [lost, covered_above] = detail::entries_lost(read_from, read_seen, *state, last, xdel_counted);
    if (lost) {
      if (state->max_deleted > xdel_counted) xdel_counted = state->max_deleted;
      read_seen += lost;
      pending_gaps.emplace_back(covered_above, lost);  // a checkpoint above it counts the loss
      ++metrics.gaps;
      metrics.gap_entries += lost;
      log(fmt::format("GAP: {} {} deleted after {} before {} read; going on", lost,
                      lost == 1 ? "entry was" : "entries were", read_from.to_string(),
                      lost == 1 ? "it was" : "they were"));
    }
  }

  Batch batch;
  std::vector<StreamId> ack_now;
  std::vector<Event> again;  // pending entries never handled here: delivered again
  for (auto& entry : *entries) {
    const auto id = entry.event.id;
    const auto delivered = tracker.last_delivered();
    if (replaying) {
      replay_cursor = id;
      if (entry.deleted) {
        // Its payload is gone: nothing to hand out. Ack it so it leaves the
        // pending list, and count it.
        ++metrics.deleted_pending;
        if (!unxacked.count(id) && !loaded_unxacked.count(id) && !xack_refused.count(id))
          log(fmt::format("pending entry {} was deleted before it was handled", id.to_string()));
        ack_now.push_back(id);
        continue;
      }
      // Never handled by this consumer, whatever its ID: a pending entry
      // claimed from another one, or one delivered before a crash.
      take_again(std::move(entry.event), ack_now, again);
      continue;
    } else {
      cursor = id;
      if (group_mode && delivered && id <= *delivered) {
        // '>' gives what this consumer had read only after the group was
        // recreated below it (by another member, at its own checkpoint):
        // delivered again unless known (a duplicate, never a loss).
        take_again(std::move(entry.event), ack_now, again);
        continue;
      }
      if (delivered && id <= *delivered) continue;  // never hand out an entry twice
    }
    tracker.deliver(id);
    batch.push_back(std::move(entry.event));
  }
  if (!again.empty()) redeliver(std::move(again), batch);
  if (replaying && entries->empty()) {
    replay_pending = false;
    loaded_unxacked.clear();  // the rest were XACKed before the last run ended
  }

  if (!ack_now.empty()) {
    xack_queue.insert(xack_queue.end(), ack_now.begin(), ack_now.end());
    kick_xack();
  }
  if (!group_mode) read_seen += batch.size();
  if (!batch.empty()) {
    metrics.events += batch.size();
    ready.push_back(std::move(batch));
    ready_signal.notify();
  } else if (!replaying && entries->empty() && !checked) {
    if (ready.empty()) {
      ready.emplace_back();  // an idle tick: nothing arrived for `block`
      ready_signal.notify();
    }
    // An idle stream may be idle because it was flushed or deleted: look.
    if (Clock::now() - last_stream_check >= std::chrono::seconds(5)) co_await stream_went_backwards();
  }
  co_return error_code{};
}

// Mid-run, a stream whose last-generated-id fell below what we have read went
// backwards (FLUSHALL, a restart without persistence, deletion, failover to a
// stale replica). It is reported and ends reading with errc::stream_regressed:
// a new start() applies the on_regressed policy to it.
asio::awaitable<bool> Consumer::Impl::stream_went_backwards() {
  auto self = shared_from_this();
  last_stream_check = Clock::now();
  // One attempt: reading must not stall behind the other connection.
  if (!cmds->is_open() && co_await cmds->connect(nullptr)) co_return false;
  auto state = co_await read_stream_state();
  if (!state) co_return false;  // cannot tell now; a later check will
  const auto high = std::max({commits.durable(), cursor, tracker.last_delivered().value_or(StreamId::min())});
  if (!(state->last_generated < high)) co_return false;
  ++metrics.regressions;
  fail(errc::stream_regressed,
       fmt::format("stream '{}' went backwards while running: {} (last-generated-id {}) is below what was read ({}); "
                   "Redis lost data, or failed over to a stale replica",
                   opt.key.stream, state->exists ? "it" : "it is gone", state->last_generated.to_string(),
                   high.to_string()));
  co_return true;
}

asio::awaitable<Result<Batch>> Consumer::Impl::next() {
  auto self = shared_from_this();
  for (;;) {
    auto batch = co_await next_batch();
    if (!batch) co_return batch;
    // An entry delivered again is counted as the application gets it, and
    // given up past max_deliveries (dead_letter.cpp).
    if (batch->size() == 1 && count_at_hand_out.erase(batch->front().id) && co_await give_up(batch->front())) continue;
    co_return batch;
  }
}

asio::awaitable<Result<Batch>> Consumer::Impl::next_batch() {
  auto self = shared_from_this();
  bool paused = false;
  for (;;) {
    if (stopping || fatal) break;
    if (ready.empty()) {
      if (!read_loop_running) break;
      co_await ready_signal.wait();
    } else if (!ready.front().empty() && committer && committer->stalled()) {
      // Whatever is acked now would wait for the stalled write too: hold the
      // application until it ends (space_signal: a commit ended, or stop).
      // On a shared store the write may carry none of this consumer's acks:
      // the committer says when it ends.
      if (!std::exchange(paused, true)) ++metrics.stall_pauses;
      committer->wake_at_write_end(client, [weak = weak_from_this(), ex = ex] {
        asio::post(ex, [weak] {
          if (auto self = weak.lock()) self->space_signal.notify();
        });
      });
      if (!committer->stalled()) continue;  // it ended meanwhile
      co_await space_signal.wait();
    } else {
      break;
    }
  }
  if (fatal) co_return fatal;
  if (stopping || ready.empty()) co_return errc::stopped;
  Batch batch = std::move(ready.front());
  ready.pop_front();
  space_signal.notify();
  co_return batch;
}

}  // namespace streamckpt
