// The Redis copy (write-through in batches, reconciliation at start-up) and
// the lease that fences a second instance with the same identity.
#include "consumer/consumer_impl.hpp"
#include "redis/checkpoint_store.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fmt/format.h>

namespace streamckpt {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

constexpr std::string_view k_renew_script =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end "
    "if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 2 end return 0";
constexpr std::string_view k_release_script =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

redis::Command eval(std::string_view script, const std::string& key, std::vector<std::string> args) {
  redis::Command c = {"EVAL", std::string(script), "1", key};
  c.insert(c.end(), args.begin(), args.end());
  return c;
}

}  // namespace

// SET NX PX: a second live instance with the same identity finds the lease
// held and refuses to start (or waits, with wait_lease).
asio::awaitable<error_code> Consumer::Impl::acquire_lease() {
  auto self = shared_from_this();
  const auto key = redis::lease_key(opt.key);
  const auto ttl = std::to_string(opt.lease_ttl.count());
  for (;;) {
    auto set = redis::command("SET", key, owner, "NX", "PX", ttl);
    auto r = co_await cmds->exec_one(std::move(set));
    if (!r) co_return r.error();
    if (r->is_string() && r->str == "OK") break;
    if (r->is_error()) {  // OOM, READONLY, NOPERM: asking again gets the same answer
      error_detail = fmt::format("SET {} (the lease) failed: {}", key, r->str);
      co_return errc::redis_error;
    }
    auto get = redis::command("GET", key);
    auto holder = co_await cmds->exec_one(std::move(get));
    if (!holder) co_return holder.error();  // the link failed: start-up retries
    if (holder->is_nil()) continue;         // it expired meanwhile: try SET NX again
    if (!holder->is_string()) {
      error_detail =
          fmt::format("key {} is not a lease ({}); it was not made by streamckpt: delete it if nothing else uses it",
                      key, holder->is_error() ? holder->str : std::string("unexpected reply to GET"));
      co_return errc::redis_error;
    }
    const std::string who = holder->str;
    if (who == owner) {
      // Our own lease, left by a run of this instance that crashed (or by an
      // interrupted start-up attempt of this one): renew it now.
      auto renew = redis::command("SET", key, owner, "XX", "PX", ttl);
      auto renewed = co_await cmds->exec_one(std::move(renew));
      if (!renewed) co_return renewed.error();
      log(fmt::format("took over the lease {} held by this instance's earlier run", key));
      break;
    }
    // streamckpt always sets an expiry: a lease without one would never be
    // released, and --wait-lease would wait forever.
    auto pttl = co_await cmds->exec_one(redis::command("PTTL", key));
    if (!pttl) co_return pttl.error();
    if (pttl->type == redis::Value::Type::integer && pttl->integer == -2) continue;  // expired since the GET
    if (pttl->type == redis::Value::Type::integer && pttl->integer == -1) {
      error_detail = fmt::format(
          "the lease {} (held by '{}') has no expiry, so it is never released; it was not made by streamckpt, "
          "or its TTL was removed. Delete it if that instance is not running",
          key, who);
      co_return errc::lease_held;
    }
    if (!opt.wait_lease) {
      error_detail = fmt::format(
          "another instance ({}) is running as {}: its lease {} is live; stop it first, or wait with --wait-lease", who,
          opt.key.describe(), key);
      co_return errc::lease_held;
    }
    log(fmt::format("waiting for the lease held by {}", who));
    co_await wait_unless_stopped(opt.lease_ttl / 4);
    if (stopping) co_return errc::stopped;
  }
  fenced = true;
  if (!lease_running) spawn_loop("lease loop", &Impl::lease_loop, &Impl::lease_running);
  co_return error_code{};
}

// Renews the lease, or takes it again when it is gone: it expired while this
// process was paused (SIGSTOP, a frozen VM) or the link was down, or Redis
// lost it. The lease loop and the write-through both find it gone after such
// a pause, one right after the other; both go through this one script, so the
// second sees the lease the first took as ours, not as another instance's.
asio::awaitable<Result<Consumer::Impl::LeaseRenewal>> Consumer::Impl::renew_lease(std::string& refusal) {
  auto self = shared_from_this();
  const auto key = redis::lease_key(opt.key);
  std::vector<std::string> args{owner, std::to_string(opt.lease_ttl.count())};
  auto r = co_await cmds->exec_one(eval(k_renew_script, key, std::move(args)));
  if (!r) co_return r.error();
  if (r->is_error() || r->type != redis::Value::Type::integer) {  // OOM, NOPERM, a lease key that is not a string
    refusal = r->is_error() ? r->str : std::string("unexpected reply");
    co_return errc::redis_error;
  }
  if (r->integer == 0) co_return LeaseRenewal::held_elsewhere;
  if (r->integer == 2) {
    log(
        fmt::format("the lease {} had expired (this process was paused, or the link was down, for longer than the "
                    "lease's TTL), or Redis lost it; took it again",
                    key));
    co_return LeaseRenewal::retaken;
  }
  co_return LeaseRenewal::renewed;
}

// Renews the lease every third of its TTL. Losing it to another instance is
// fatal: that instance owns the identity now.
asio::awaitable<void> Consumer::Impl::lease_loop() {
  auto self = shared_from_this();
  const auto key = redis::lease_key(opt.key);
  while (!stopping) {
    lease_timer.expires_after(opt.lease_ttl / 3);
    error_code ec;
    co_await lease_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (stopping) break;
    if (!cmds->is_open()) {
      if (co_await connect_with_retry(*cmds, false)) continue;
    }
    std::string refusal;
    auto renewed = co_await renew_lease(refusal);
    if (!renewed) continue;  // the link failed, or Redis refused: try again at the next tick
    if (*renewed == LeaseRenewal::held_elsewhere) {
      fail(errc::lease_held, fmt::format("lost the lease {} to another instance; stopping", key));
      break;
    }
  }
  lease_running = false;
  loop_signal.notify();
}

asio::awaitable<void> Consumer::Impl::release_lease() {
  auto self = shared_from_this();
  if (!fenced || !cmds || !cmds->is_open()) co_return;
  lease_timer.cancel();
  std::vector<std::string> args{owner};
  auto release = eval(k_release_script, redis::lease_key(opt.key), std::move(args));
  co_await cmds->exec_one(std::move(release));
}

// The winner goes to whichever copy is behind: a replaced disk is re-seeded
// from Redis, a Redis that lost the key from the local store. A copy that is
// invalid is overwritten; one beyond a regressed stream is forced back with
// a new epoch.
asio::awaitable<error_code> Consumer::Impl::reconcile(ResumeReport& report) {
  auto self = shared_from_this();
  const bool chosen_by_copy =
      report.source == ResumeReport::Source::local || report.source == ResumeReport::Source::redis;
  if (!chosen_by_copy && !report.regressed) co_return error_code{};  // nothing was ever committed

  if (report.regressed) ++epoch;
  const Checkpoint target{opt.key, report.position, epoch, now_unix_ms(), metadata, entries_seen};

  const auto behind = [&](const CheckpointCopy& c) { return !c.valid() || c.checkpoint->rank() < target.rank(); };
  if (behind(report.local)) {
    std::string detail;
    if (auto ec = store->commit({target}, nullptr, &detail)) {
      error_detail = fmt::format("cannot re-seed the local checkpoint in {}: {}", store->dir().string(), detail);
      co_return ec;
    }
    report.local_reseeded = true;
  }
  if (behind(report.redis)) {
    std::string detail;
    const bool force = report.redis.state != CheckpointCopy::State::absent;
    auto r = co_await redis::write_checkpoint(*cmds, target, owner, force, fenced, &detail);
    if (!r) {
      // Not fatal: the local copy is durable and the flusher retries.
      log(fmt::format("cannot re-seed the Redis copy yet ({}); will retry",
                      detail.empty() ? r.error().message() : detail));
      mark_redis_dirty(target);
    } else {
      report.redis_reseeded = *r == redis::UpdateOutcome::written;
      redis_entries_seen = target.entries_seen;
    }
  } else {
    redis_entries_seen = report.redis.checkpoint->entries_seen;
  }
  co_return error_code{};
}

void Consumer::Impl::mark_redis_dirty(const Checkpoint& c) {
  const bool was_clean = !redis_dirty;
  if (was_clean) dirty_since = Clock::now();
  redis_dirty = c;
  // Wake the flusher: it sleeps without a deadline while clean, and must now
  // flush within flush_interval (or at once when far behind).
  if (was_clean || opt.flush_interval.count() == 0 ||
      c.entries_seen - std::min(c.entries_seen, redis_entries_seen) >= opt.flush_events)
    flush_timer.cancel();
}

// Writes the latest durable checkpoint to Redis at most every flush_interval
// (sooner when it trails by flush_events). Only the latest value is kept, so
// a long outage costs no memory; a failed write stays dirty and is retried.
asio::awaitable<void> Consumer::Impl::flush_loop() {
  auto self = shared_from_this();
  detail::Backoff backoff(opt.reconnect_initial, opt.reconnect_max);
  while (!flusher_stop) {
    if (!redis_dirty) {
      flush_timer.expires_at(asio::steady_timer::time_point::max());
    } else {
      const auto lag = redis_dirty->entries_seen - std::min(redis_dirty->entries_seen, redis_entries_seen);
      const auto due = dirty_since + opt.flush_interval;
      if (Clock::now() < due && lag < opt.flush_events)
        flush_timer.expires_at(due);
      else if (co_await flush_once()) {
        backoff.reset();
        continue;
      } else {
        flush_timer.expires_after(backoff.next());
      }
    }
    error_code ignored;
    co_await flush_timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
  flusher_running = false;
  loop_signal.notify();
}

asio::awaitable<bool> Consumer::Impl::flush_once() {
  auto self = shared_from_this();
  if (!redis_dirty) co_return true;
  if (!cmds->is_open()) {
    std::string detail;
    if (auto ec = co_await cmds->connect(&detail)) {
      ++metrics.flush_failures;
      last_flush_failure = detail;
      // As for every connection: refused credentials end the run.
      if (is_refusal(ec)) fail(ec, detail);
      co_return false;
    }
  }
  const Checkpoint c = *redis_dirty;
  std::string detail;
  // For a member that claims this one's pending entries: which it handled.
  std::optional<std::string> handled;
  if (group_mode) {
    const auto list = unacked_list();
    handled = redis::format_id_list(list.front().ids);
  }
  auto r = co_await redis::write_checkpoint(*cmds, c, owner, false, fenced, &detail, handled ? &*handled : nullptr);
  if (!r) {
    ++metrics.flush_failures;
    // Redis's answer (READONLY from a replica, OOM, NOPERM), once per distinct
    // refusal; a lost link is the reconnect's to report.
    std::string refusal;
    if (r.error() == errc::wrong_type)
      refusal = fmt::format("{} holds a value that is not a hash", redis::checkpoint_hash_key(opt.key));
    else if (r.error() == errc::redis_error)
      refusal = detail;
    if (!refusal.empty() && refusal != logged_flush_refusal) {
      logged_flush_refusal = refusal;
      log(fmt::format("cannot write the Redis copy: {}; will retry", refusal));
    }
    last_flush_failure = refusal.empty() ? r.error().message() : refusal;
    co_return false;
  }
  logged_flush_refusal.clear();
  last_flush_failure.clear();
  if (*r == redis::UpdateOutcome::not_owner) {
    ++metrics.flush_failures;
    // The lease is missing (Redis lost it, or it expired while this process
    // was paused or the link was down) or another instance holds it. Take it
    // again if it is free; the flusher then retries the write.
    const auto key = redis::lease_key(opt.key);
    std::string refusal;
    auto renewed = co_await renew_lease(refusal);
    if (!renewed && !refusal.empty())
      log(fmt::format("taking the lease {} again failed: {}; will retry", key, refusal));
    if (renewed && *renewed == LeaseRenewal::held_elsewhere)
      fail(errc::lease_held, fmt::format("the Redis copy refused our write: another instance holds the lease {}", key));
    co_return false;
  }
  if (*r == redis::UpdateOutcome::not_newer && !co_await settle_not_newer(c)) {
    ++metrics.flush_failures;
    co_return false;
  }
  ++metrics.redis_flushes;
  redis_entries_seen = c.entries_seen;
  if (redis_dirty && redis_dirty->id == c.id) redis_dirty.reset();
  co_return true;
}

// The update script refused `c` as not newer. It compares only `epoch` and
// `pos` (Lua has no CRC-32C), so read the copy back: the same checkpoint (a
// retried write whose reply was lost) is done; garbage that merely looks
// ahead, such as a bad epoch, is overwritten; a valid copy ahead of ours was
// written by someone else and is left alone, with a log line. True when the
// Redis copy now holds `c`, or one that may stay.
asio::awaitable<bool> Consumer::Impl::settle_not_newer(const Checkpoint& c) {
  auto self = shared_from_this();
  auto copy = co_await redis::read_checkpoint(*cmds, opt.key, nullptr);
  if (!copy) co_return false;
  if (copy->valid()) {
    const auto& theirs = *copy->checkpoint;
    if (theirs.rank() != c.rank() && redis_ahead_reported != theirs.id) {
      redis_ahead_reported = theirs.id;  // once per copy, not at every flush
      log(
          fmt::format("the Redis copy {} (epoch {}) is ahead of the durable checkpoint {} (epoch {}); it was "
                      "written by another writer and is left as it is",
                      theirs.id.to_string(), theirs.epoch, c.id.to_string(), c.epoch));
    }
    co_return true;
  }
  const auto why = copy->state == CheckpointCopy::State::absent ? std::string("it is gone") : copy->reason;
  // A forced write may land after a newer one: the final flush of stop() can
  // run beside the flusher's. Commands on the one connection keep the order
  // they were sent in, so never send a force older than one already sent.
  if (newest_forced && c.rank() < *newest_forced) co_return true;
  newest_forced = c.rank();
  std::string detail;
  auto w = co_await redis::write_checkpoint(*cmds, c, owner, true, fenced, &detail);
  if (!w || *w != redis::UpdateOutcome::written) co_return false;
  log(fmt::format("the Redis copy refused the write-through but is not valid ({}); overwrote it with {}", why,
                  c.id.to_string()));
  co_return true;
}

}  // namespace streamckpt
