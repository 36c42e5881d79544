#include "consumer/consumer_impl.hpp"
#include "redis/checkpoint_store.hpp"

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fmt/format.h>

namespace streamckpt {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

// Runs one of the consumer's operations (start, next, durable, stop) and
// completes `handler` with (error_code, T). An exception that escapes it
// fails the consumer (errc::internal_error, its message in error_detail()).
template <class T, class Handler>
void complete_with(const std::shared_ptr<Consumer::Impl>& impl, const char* op, asio::awaitable<Result<T>> work,
                   Handler handler) {
  asio::co_spawn(
      impl->ex, std::move(work),
      [weak = std::weak_ptr(impl), op, h = std::move(handler)](const std::exception_ptr& e, Result<T> r) mutable {
        if (e) {
          if (auto impl = weak.lock()) impl->fail_by_exception(fmt::format("{} failed", op), e);
          return std::move(h)(make_error_code(errc::internal_error), T{});
        }
        if (r) return std::move(h)(error_code{}, std::move(*r));
        std::move(h)(r.error(), T{});
      });
}

template <class Handler>
void complete_with_ec(const std::shared_ptr<Consumer::Impl>& impl, const char* op, asio::awaitable<error_code> work,
                      Handler handler) {
  asio::co_spawn(
      impl->ex, std::move(work),
      [weak = std::weak_ptr(impl), op, h = std::move(handler)](const std::exception_ptr& e, error_code ec) mutable {
        if (e) {
          if (auto impl = weak.lock()) impl->fail_by_exception(fmt::format("{} failed", op), e);
          return std::move(h)(make_error_code(errc::internal_error));
        }
        std::move(h)(ec);
      });
}

// Per-operation cancellation: when the handler has a cancellation slot, a
// cancellation (of any type) sets the returned flag and wakes the waits (any
// waiter re-checks its condition), and the operation completes with
// operation_aborted; nothing else of the consumer is touched. The slot is cleared when the operation completes
// (complete_with). nullptr when there is no slot.
template <class Handler>
std::shared_ptr<bool> arm_cancellation(Handler& handler, const std::shared_ptr<Consumer::Impl>& impl) {
  auto slot = asio::get_associated_cancellation_slot(handler);
  if (!slot.is_connected()) return nullptr;
  auto cancelled = std::make_shared<bool>(false);
  slot.assign([weak = std::weak_ptr(impl), cancelled](asio::cancellation_type) {
    *cancelled = true;
    if (auto impl = weak.lock()) {
      impl->ready_signal.notify();
      impl->space_signal.notify();
      impl->durable_signal.notify();
    }
  });
  return cancelled;
}

std::string what_of(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "an exception that is not a std::exception";
  }
}

}  // namespace

Consumer::Impl::Impl(asio::any_io_executor executor, ConsumerOptions options, std::shared_ptr<Store> given)
    : ex(std::move(executor)),
      opt(std::move(options)),
      group_mode(!opt.key.group.empty()),
      shared(std::move(given)),
      store_given(shared != nullptr),
      commits(opt.reconnect_initial, opt.reconnect_max),
      reading({opt.key.stream, opt.key.group, opt.key.consumer, opt.batch, opt.block}),
      read_backoff(opt.reconnect_initial, opt.reconnect_max),
      ready_signal(ex),
      space_signal(ex),
      durable_signal(ex),
      loop_signal(ex),
      flush_timer(ex),
      lease_timer(ex) {}

Consumer::Impl::~Impl() = default;

void Consumer::Impl::log(std::string_view line) const {
  if (opt.log) opt.log(line);
}

void Consumer::Impl::spawn_loop(const char* name, asio::awaitable<void> (Impl::*loop)(), bool Impl::*running) {
  this->*running = true;
  asio::co_spawn(
      ex, [self = shared_from_this(), loop]() { return ((*self).*loop)(); },
      [weak = weak_from_this(), name, running](const std::exception_ptr& e) {
        if (!e) return;
        auto self = weak.lock();
        if (!self) return;
        (*self).*running = false;
        self->fail_by_exception(fmt::format("the {} failed", name), e);
      });
}

void Consumer::Impl::fail_by_exception(std::string_view context, const std::exception_ptr& e) {
  if (!fatal) {
    fatal = errc::internal_error;
    error_detail = fmt::format("{}: {}", context, what_of(e));
    try {
      log(error_detail);
    } catch (...) {  // the log callback may be what threw: the detail is in error_detail()
    }
  }
  request_stop();
  ready_signal.notify();
  space_signal.notify();
  durable_signal.notify();
  loop_signal.notify();
}

void Consumer::Impl::fail(error_code ec, std::string detail) {
  if (!fatal) {
    fatal = ec;
    error_detail = std::move(detail);
    log(error_detail);
  }
  ready_signal.notify();
  space_signal.notify();
}

std::size_t Consumer::Impl::in_flight() const {
  std::size_t queued = 0;
  for (const auto& b : ready) queued += b.size();
  // Handled but not XACKed counts too: its list is in every commit.
  return tracker.outstanding() + commits.uncommitted() + queued + pending.in_flight();
}

std::vector<LocalStore::Unacked> Consumer::Impl::unacked_list() const {
  if (!group_mode) return {};
  return {{opt.key, pending.list()}};
}

error_code Consumer::Impl::ack(const Event& event, std::shared_ptr<const rocksdb::WriteBatch> effects,
                               std::optional<std::string> md) {
  if (md && md->size() > Checkpoint::k_max_metadata_bytes) return errc::metadata_too_large;
  if (effects) {
    if (!store) return errc::not_delivered;  // not started: nothing was delivered
    if (auto refused = store->check_effects(*effects)) return refused;
  }
  if (pending.ack_out_of_order(event.id)) {
    // Handled below the watermark: its commit records it handled, and the
    // checkpoint carries its metadata, without moving.
    ++metrics.acks;
    if (md) metadata = std::move(*md);
    detail::Staged acks{staged_to, {event.id}, {}, metadata, entries_seen, Clock::now()};
    if (effects) acks.effects.push_back(std::move(effects));
    commits.stage(std::move(acks));
    kick_commit();
    return {};
  }
  switch (tracker.ack(event.id, std::move(effects), std::move(md))) {
    case detail::AckTracker::AckResult::accepted:
      break;
    case detail::AckTracker::AckResult::duplicate:
      return errc::already_acked;
    case detail::AckTracker::AckResult::unknown:
      // Past the watermark, or handled below it: acked before.
      return event.id <= staged_to || pending.acked(event.id) ? errc::already_acked : errc::not_delivered;
  }
  ++metrics.acks;
  auto advance = tracker.take_advance();
  if (!advance) return {};

  staged_to = advance->to;
  if (group_mode) pending.committing(advance->ids);
  // Entries lost below what this ack covers count as seen, so that a restart
  // does not report them again.
  entries_seen += reading.take_gaps_below(advance->to) + advance->ids.size();
  if (advance->metadata) metadata = std::move(*advance->metadata);
  commits.stage(
      {advance->to, std::move(advance->ids), std::move(advance->effects), metadata, entries_seen, Clock::now()});
  kick_commit();
  return {};
}

// Acks of one executor turn (typically a whole batch) go out as one job.
void Consumer::Impl::kick_commit() {
  if (submit_posted) return;
  submit_posted = true;
  asio::post(ex, [self = shared_from_this()] {
    self->submit_posted = false;
    self->submit_staged();
  });
}

void Consumer::Impl::submit_staged() {
  if (!committer) return;
  auto submission = commits.take_submission();
  if (!submission) return;
  auto job = std::move(submission->job);

  detail::Committer::Job work;
  work.client = client;
  job.updated_ms = now_unix_ms();
  work.checkpoints.push_back(job.checkpoint(opt.key, epoch));
  work.unacked = unacked_list();
  work.extras = job.effects;
  work.reopen_first = submission->reopen_first;
  work.retry = submission->retry;
  work.done = [self = shared_from_this(), job = std::move(job)](error_code ec, const std::string& detail) mutable {
    auto& ex = self->ex;
    asio::post(ex, [self = std::move(self), ec, detail = std::string(detail), job = std::move(job)]() mutable {
      self->on_commit_done(ec, std::move(detail), std::move(job));
    });
  };
  committer->submit(std::move(work));
}

void Consumer::Impl::on_commit_done(error_code ec, std::string detail, detail::Staged job) {
  auto outcome = commits.on_done(ec, std::move(job));
  if (!outcome.durable) {
    // Nothing is acked: reading pauses (in-flight stays full) until the
    // merged job is written.
    if (outcome.first_failure) {
      ++metrics.storage_errors;
      const auto delay = outcome.retry_after;
      log(fmt::format("local commit failed ({}: {}); retrying in {} ms", ec.message(), detail, delay.count()));
      auto timer = std::make_shared<asio::steady_timer>(ex, delay);
      timer->async_wait([self = shared_from_this(), timer](error_code) {
        self->commits.on_retry_due();
        self->kick_commit();
      });
    }
    space_signal.notify();  // the write ended: a next() held by a stall re-checks
    if (outcome.merged) {
      durable_signal.notify();
      kick_commit();  // no-op until the retry is due
    }
    return;
  }

  const auto& done = *outcome.durable;
  mark_redis_dirty(done.checkpoint(opt.key, epoch));  // the same record as the local copy
  ++metrics.commits;
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - done.since).count();
  for (std::size_t i = 0; i < done.ids.size(); ++i) ack_latency.record(static_cast<std::uint64_t>(us));
  if (group_mode) {
    pending.durable(done.ids);
    xack_queue.insert(xack_queue.end(), done.ids.begin(), done.ids.end());
    kick_xack();
  }
  durable_signal.notify();
  space_signal.notify();
  kick_commit();
}

void Consumer::Impl::kick_xack() {
  if (xack_running || xack_queue.empty() || !cmds) return;
  spawn_loop("XACK loop", &Impl::xack_loop, &Impl::xack_running);
}

// XACK only after the local commit: every ID Redis forgets is <= the durable
// checkpoint. A failed XACK is retried; the pending-list replay at start-up
// also XACKs whatever is <= the checkpoint.
asio::awaitable<void> Consumer::Impl::xack_loop() {
  auto self = shared_from_this();
  constexpr std::size_t k_ids_per_command = 500;
  int attempts_while_stopping = 0;
  // A link that connects but fails every XACK (a Redis still loading, seen
  // through an ACL user that may not PING) must not be hammered.
  detail::Backoff backoff(opt.reconnect_initial, opt.reconnect_max);
  while (!xack_queue.empty()) {
    if (!cmds->is_open()) {
      auto ec = stopping ? make_error_code(errc::stopped) : co_await connect_with_retry(*cmds, false);
      // Stopping: one fresh attempt, the link may be back.
      if (ec && stopping) ec = co_await cmds->connect(nullptr);
      if (ec) {
        log(fmt::format("{} XACKs left for the next start (it XACKs what is at or below the checkpoint)",
                        xack_queue.size()));
        break;
      }
    }
    std::vector<redis::Command> commands;
    std::vector<std::size_t> ids_per_command;
    std::size_t taken = 0;
    while (taken < xack_queue.size()) {
      auto c = redis::command("XACK", opt.key.stream, opt.key.group);
      for (std::size_t i = 0; i < k_ids_per_command && taken < xack_queue.size(); ++i, ++taken)
        c.push_back(xack_queue[taken].to_string());
      ids_per_command.push_back(c.size() - 3);
      commands.push_back(std::move(c));
    }
    // Handled: the group's count of its deliveries is done with (only
    // entries handed out again have one). Its replies are not looked at.
    const auto xacks = commands.size();
    if (opt.max_deliveries > 0) {
      auto forget = redis::command("HDEL", redis::deliveries_key(opt.key));
      for (std::size_t i = 0; i < taken; ++i) forget.push_back(xack_queue[i].to_string());
      commands.push_back(std::move(forget));
    }
    auto replies = co_await cmds->exec(std::move(commands));
    if (replies) replies->resize(xacks);
    if (!replies) {
      if (stopping && ++attempts_while_stopping > 1) break;
      const auto delay = stopping ? std::chrono::milliseconds{0} : backoff.next();
      log(fmt::format("XACK failed ({}); retrying in {} ms", replies.error().message(), delay.count()));
      co_await wait_unless_stopped(delay);  // a stop cuts it short: its one last attempt goes at once
      continue;
    }
    backoff.reset();
    // An error reply is Redis's answer, not a lost link: retrying would get
    // the same. The entries stay pending, within the checkpoint, and the
    // pending-list replay of the next start XACKs them.
    std::size_t first_of_command = 0;
    for (std::size_t i = 0; i < replies->size(); ++i) {
      const auto& reply = (*replies)[i];
      if (!reply.is_error()) {
        metrics.xacks += ids_per_command[i];
        // Redis has forgotten them: they need no XACK after a crash.
        for (std::size_t k = 0; k < ids_per_command[i]; ++k) pending.xack_confirmed(xack_queue[first_of_command + k]);
        first_of_command += ids_per_command[i];
        continue;
      }
      for (std::size_t k = 0; k < ids_per_command[i]; ++k) pending.xack_refused(xack_queue[first_of_command + k]);
      first_of_command += ids_per_command[i];
      metrics.xack_failures += ids_per_command[i];
      if (reply.str != last_xack_error) {  // once per distinct refusal, not per batch
        last_xack_error = reply.str;
        log(fmt::format("XACK refused by Redis ({}); the entries stay pending until a start that may XACK them",
                        reply.str));
      }
    }
    xack_queue.erase(xack_queue.begin(), xack_queue.begin() + static_cast<std::ptrdiff_t>(taken));
    space_signal.notify();  // the XACKed entries no longer count as in flight
  }
  xack_running = false;
  loop_signal.notify();
}

asio::awaitable<error_code> Consumer::Impl::wait_durable(StreamId id, std::shared_ptr<bool> cancelled) {
  auto self = shared_from_this();
  while (commits.durable() < id) {
    if (!store) co_return errc::stopped;
    if (cancelled && *cancelled) co_return error_code(asio::error::operation_aborted);
    co_await durable_signal.wait();
  }
  co_return error_code{};
}

void Consumer::Impl::request_stop() {
  if (stopping) return;
  stopping = true;
  if (reads) reads->close();  // ends a blocking read now
  for (auto* wait : stoppable_waits) wait->cancel();
  ready_signal.notify();
  space_signal.notify();
}

asio::awaitable<void> Consumer::Impl::wait_unless_stopped(std::chrono::milliseconds delay) {
  auto self = shared_from_this();
  if (stopping) co_return;
  asio::steady_timer timer(ex, delay);
  // Registered for as long as the wait lasts, also when the coroutine is
  // destroyed mid-wait (an io_context destroyed before the consumer).
  struct Registration {
    std::vector<asio::steady_timer*>& waits;
    asio::steady_timer* timer;
    ~Registration() { std::erase(waits, timer); }
  } registration{stoppable_waits, &timer};
  stoppable_waits.push_back(&timer);
  error_code ignored;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
}

asio::awaitable<error_code> Consumer::Impl::stop() {
  auto self = shared_from_this();
  request_stop();
  while (read_loop_running) co_await loop_signal.wait();
  // Every acked event becomes durable before we go: a clean stop never
  // causes a duplicate.
  while (!commits.idle()) co_await durable_signal.wait();
  while (xack_running) co_await loop_signal.wait();
  // The final write-through. The local copy is durable already: a Redis that
  // is down now costs nothing but a stale Redis copy, which start-up handles.
  bool flushed = true;
  if (redis_dirty && cmds) flushed = co_await flush_once();
  // A write Redis refused for a lease that had lapsed (a failover to a
  // replica whose copy of it expired) took the lease again: once more. A
  // link that failed (last_flush_failure says how) is not tried again.
  if (!flushed && redis_dirty && cmds && !fatal && last_flush_failure.empty()) flushed = co_await flush_once();
  if (!flushed)
    log(
        fmt::format("final write-through to Redis failed{}; the local checkpoint is durable and Redis will catch up "
                    "at the next start",
                    last_flush_failure.empty() ? std::string() : " (" + last_flush_failure + ")"));
  flusher_stop = true;
  flush_timer.cancel();
  while (flusher_running) co_await loop_signal.wait();
  co_await release_lease();
  close_now();
  co_return error_code{};
}

void Consumer::Impl::copy_committer_metrics(Metrics& m) const {
  if (!committer) return;
  m.fsyncs = committer->writes(client);
  const auto writes = committer->write_times();
  m.sync_p50_us = writes.p50_us;
  m.sync_p99_us = writes.p99_us;
  m.sync_max_us = writes.max_us;
}

void Consumer::Impl::close_now() {
  stopping = true;
  flusher_stop = true;
  flush_timer.cancel();
  lease_timer.cancel();
  for (auto* wait : stoppable_waits) wait->cancel();
  if (reads) reads->close();
  if (cmds) cmds->close();
  release_store();
  ready_signal.notify();
  space_signal.notify();
  durable_signal.notify();
}

void Consumer::Impl::release_store() {
  if (committer) {
    committer->forget_wake(client);   // posts nothing to the executor from now on
    committer->drain(client);         // writes what is queued
    copy_committer_metrics(metrics);  // metrics() reads them from here on
    shared->impl().release(opt.key);
    committer = nullptr;
  }
  store = nullptr;
  shared.reset();  // closes the consumer's own store
}

// ---------------------------------------------------------------------------

Consumer::Consumer(executor_type executor, ConsumerOptions options)
    : executor_(executor), impl_(std::make_shared<Impl>(std::move(executor), std::move(options))) {}

Consumer::Consumer(executor_type executor, std::shared_ptr<Store> store, ConsumerOptions options)
    : executor_(executor), impl_(std::make_shared<Impl>(std::move(executor), std::move(options), std::move(store))) {}

// A destructor cannot report a failure to close (a timer that cannot be
// cancelled, the final drain): it ends as a crash would, and what was acked
// but not yet durable is handled again at the next start.
Consumer::~Consumer() {
  try {
    impl_->close_now();
  } catch (...) {  // see above
  }
}

void Consumer::start_erased(asio::any_completion_handler<void(error_code, ResumeReport)> handler) {
  // The failure's sentence travels in the report: error_detail() is the
  // consumer's, which a later failure may not change but a retried start
  // does.
  complete_with(impl_, "async_start()", impl_->start(),
                [impl = impl_, h = std::move(handler)](error_code ec, ResumeReport report) mutable {
                  if (ec) report.failure = impl->error_detail.empty() ? ec.message() : impl->error_detail;
                  std::move(h)(ec, std::move(report));
                });
}

void Consumer::next_erased(asio::any_completion_handler<void(error_code, Batch)> handler) {
  auto cancelled = arm_cancellation(handler, impl_);
  complete_with(impl_, "async_next()", impl_->next(std::move(cancelled)), std::move(handler));
}

void Consumer::durable_erased(StreamId id, asio::any_completion_handler<void(error_code)> handler) {
  auto cancelled = arm_cancellation(handler, impl_);
  complete_with_ec(impl_, "async_durable()", impl_->wait_durable(id, std::move(cancelled)), std::move(handler));
}

void Consumer::stop_erased(asio::any_completion_handler<void(error_code)> handler) {
  complete_with_ec(impl_, "async_stop()", impl_->stop(), std::move(handler));
}

error_code Consumer::ack(const Event& event) { return impl_->ack(event, nullptr, std::nullopt); }

error_code Consumer::ack(const Event& event, rocksdb::WriteBatch effects, std::optional<std::string> md) {
  return impl_->ack(event, std::make_shared<const rocksdb::WriteBatch>(std::move(effects)), std::move(md));
}

void Consumer::request_stop() { impl_->request_stop(); }

rocksdb::ColumnFamilyHandle* Consumer::column_family(const std::string& name) const {
  return impl_->store ? impl_->store->batch_handle(name) : nullptr;
}

Result<std::optional<std::string>> Consumer::get(const std::string& family, std::string_view key) const {
  if (!impl_->store) return errc::store_closed;
  return impl_->store->get(family, key);
}

StreamId Consumer::durable_id() const { return impl_->commits.durable(); }

std::string Consumer::error_detail() const { return impl_->error_detail; }

Metrics Consumer::metrics() const {
  Metrics m = impl_->metrics;
  impl_->copy_committer_metrics(m);
  m.ack_to_durable_p50_us = impl_->ack_latency.quantile(0.50);
  m.ack_to_durable_p99_us = impl_->ack_latency.quantile(0.99);
  m.ack_to_durable_p999_us = impl_->ack_latency.quantile(0.999);
  m.ack_to_durable_le = impl_->ack_latency.fixed_buckets();
  m.ack_to_durable_count = impl_->ack_latency.count();
  m.ack_to_durable_sum_us = impl_->ack_latency.sum();
  m.entries_seen = impl_->entries_seen;
  if (impl_->redis_dirty) {
    m.redis_lag_events =
        impl_->redis_dirty->entries_seen - std::min(impl_->redis_dirty->entries_seen, impl_->redis_entries_seen);
    m.redis_lag_ms = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(Impl::Clock::now() - impl_->dirty_since).count());
  }
  m.reconnects = (impl_->reads ? impl_->reads->reconnects() : 0) + (impl_->cmds ? impl_->cmds->reconnects() : 0);
  return m;
}

}  // namespace streamckpt
