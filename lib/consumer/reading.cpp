#include "consumer/consumer_impl.hpp"

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
      reading.on_reconnect();
      log(group_mode ? "reconnected; replaying the pending list" : "reconnected");
      // A Redis that restarted without persistence comes back empty.
      if (co_await stream_went_backwards()) break;
    }

    // Between reads, once the pending list is replayed: take over what
    // members that are gone left pending.
    error_code ec;
    if (group_mode && opt.claim_idle.count() > 0 && !reading.replaying() && Clock::now() >= next_claim)
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
      // A reply that dropped the link (LOADING, a cluster's MOVED or ASK, …)
      // says more than its code.
      const auto why = ec == errc::redis_not_ready && !reads->not_ready_reply().empty()
                           ? fmt::format("Redis answered: {}", reads->not_ready_reply())
                           : ec.message();
      log(fmt::format("read failed ({}); reconnecting in {} ms", why, delay.count()));
      co_await wait_unless_stopped(delay);
      continue;
    }
    read_backoff.reset();
  }
  read_loop_running = false;
  ready_signal.notify();
  loop_signal.notify();
}

asio::awaitable<error_code> Consumer::Impl::read_once() {
  auto self = shared_from_this();
  const auto read = reading.next_read();
  std::vector<redis::Value> replies;
  if (read.commands.size() == 1) {
    auto one = co_await reads->exec_one(read.commands.front(), read.deadline);
    if (!one) co_return one.error();
    replies.push_back(std::move(*one));
  } else {
    auto all = co_await reads->exec(read.commands, read.deadline);
    if (!all) co_return all.error();
    replies = std::move(*all);
  }
  auto out = reading.on_reply(read, std::move(replies), tracker, pending, Clock::now());
  for (const auto& line : out.log) log(line);
  using Then = detail::ReadState::Outcome::Then;
  switch (out.then) {
    case Then::fail:
      error_detail = std::move(out.detail);
      co_return out.error;
    case Then::reconnect:
      reads->close();
      co_return out.error;
    case Then::recreate_group:
      co_return co_await recreate_group(out.detail);
    case Then::check_stream:
    case Then::go_on:
      break;
  }
  if (out.gap) {
    ++metrics.gaps;
    metrics.gap_entries += out.gap->entries;
  }
  metrics.deleted_pending += out.deleted_pending;
  if (!out.again.empty()) redeliver(std::move(out.again), out.batch);
  if (!out.xack.empty()) {
    xack_queue.insert(xack_queue.end(), out.xack.begin(), out.xack.end());
    kick_xack();
  }
  if (!out.batch.empty()) {
    metrics.events += out.batch.size();
    ready.push_back(std::move(out.batch));
    ready_signal.notify();
  } else if (out.idle && ready.empty()) {
    ready.emplace_back();  // an idle tick: nothing arrived for `block`
    ready_signal.notify();
  }
  // An idle stream may be idle because it was flushed or deleted: look.
  if (out.then == Then::check_stream) co_await stream_went_backwards();
  co_return error_code{};
}

// The group (or the whole stream) was deleted while we ran: recreated at our
// durable checkpoint, never at 0 or $, then the pending list is replayed.
asio::awaitable<error_code> Consumer::Impl::recreate_group(const std::string& why) {
  auto self = shared_from_this();
  if (co_await stream_went_backwards()) co_return error_code{};
  log(fmt::format("group '{}' is gone ({}); recreating it at {}", opt.key.group, why, commits.durable().to_string()));
  auto create =
      redis::command("XGROUP", "CREATE", opt.key.stream, opt.key.group, commits.durable().to_string(), "MKSTREAM");
  auto created = co_await cmds->exec_one(std::move(create));
  if (!created) co_return created.error();
  ++metrics.groups_lost;
  if (created->error_prefix() == std::string_view("BUSYGROUP"))
    log(
        fmt::format("group '{}' was recreated by another member first; entries handled above its position may be "
                    "delivered again",
                    opt.key.group));
  reading.on_group_recreated();
  co_return error_code{};
}

// Mid-run, a stream whose last-generated-id fell below what we have read went
// backwards (FLUSHALL, a restart without persistence, deletion, failover to a
// stale replica). It is reported and ends reading with errc::stream_regressed:
// a new start() applies the on_regressed policy to it.
asio::awaitable<bool> Consumer::Impl::stream_went_backwards() {
  auto self = shared_from_this();
  reading.on_stream_checked(Clock::now());
  // Behind Sentinel, the stream is looked at where reading goes: the other
  // link may still be on a master that a failover demoted.
  if (cmds->is_open() && cmds->master() != reads->master()) cmds->close();
  // One attempt: reading must not stall behind the other connection.
  if (!cmds->is_open() && co_await cmds->connect(nullptr)) co_return false;
  auto state = co_await read_stream_state();
  if (!state) co_return false;  // cannot tell now; a later check will
  const auto high = std::max({commits.durable(), reading.cursor(), tracker.last_delivered().value_or(StreamId::min())});
  std::string why;
  if (state->last_generated < high) {
    why = fmt::format("{} (last-generated-id {}) is below what was read ({})", state->exists ? "it" : "it is gone",
                      state->last_generated.to_string(), high.to_string());
  } else if (state->counts_known && state->entries_added < entries_seen) {
    // A replica that lagged, promoted, then given new entries past the
    // checkpoint: its end no longer shows it, its count does.
    why = fmt::format("it has had {} entries added, fewer than the {} this consumer has seen", state->entries_added,
                      entries_seen);
  }
  if (why.empty()) co_return false;
  ++metrics.regressions;
  fail(errc::stream_regressed,
       fmt::format("stream '{}' went backwards while running: {}; Redis lost data, or failed over to a stale replica",
                   opt.key.stream, why));
  co_return true;
}

asio::awaitable<Result<Batch>> Consumer::Impl::next(std::shared_ptr<bool> cancelled) {
  auto self = shared_from_this();
  for (;;) {
    auto batch = co_await next_batch(cancelled);
    if (!batch) co_return batch;
    // An entry delivered again is counted as the application gets it, and
    // given up past max_deliveries (dead_letter.cpp).
    if (batch->size() == 1 && count_at_hand_out.erase(batch->front().id) && co_await give_up(batch->front())) continue;
    co_return batch;
  }
}

asio::awaitable<Result<Batch>> Consumer::Impl::next_batch(const std::shared_ptr<bool>& cancelled) {
  auto self = shared_from_this();
  bool paused = false;
  for (;;) {
    if (stopping || fatal) break;
    if (ready.empty()) {
      if (!read_loop_running) break;
      if (cancelled && *cancelled) co_return error_code(asio::error::operation_aborted);
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
      if (cancelled && *cancelled) co_return error_code(asio::error::operation_aborted);
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
