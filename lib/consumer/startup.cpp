#include "consumer/consumer_impl.hpp"
#include "consumer/resume.hpp"
#include "consumer/stream_reply.hpp"
#include "redis/checkpoint_store.hpp"

#include <boost/asio/use_awaitable.hpp>

#include <fmt/format.h>

#include <unistd.h>
#include <random>

namespace streamckpt {

namespace asio = boost::asio;
using boost::system::error_code;

// Connects, retrying with backoff. At start-up it gives up at
// startup_deadline (start() sets it once from opt.startup_timeout); later it
// retries until it succeeds or the consumer stops. Wrong credentials are never
// retried.
asio::awaitable<error_code> Consumer::Impl::connect_with_retry(redis::Connection& c, bool at_startup) {
  auto self = shared_from_this();
  detail::Backoff backoff(opt.reconnect_initial, opt.reconnect_max);
  for (;;) {
    std::string detail;
    const auto ec = co_await c.connect(&detail);
    if (!ec) co_return ec;
    if (is_refusal(ec) || (ec == errc::redis_error && at_startup)) {
      // Retrying cannot help. Mid-run the consumer stops with this error, so
      // that a supervisor sees a failure and not a clean stop.
      if (at_startup)
        error_detail = detail;
      else
        fail(ec, detail);
      co_return ec;
    }
    if (at_startup && Clock::now() >= startup_deadline) {
      error_detail = detail;
      co_return ec;
    }
    if (stopping) co_return errc::stopped;
    const auto delay = backoff.next();
    log(fmt::format("{}; retrying in {} ms (attempt {})", detail, delay.count(), backoff.attempts()));
    co_await wait_unless_stopped(delay);
    if (stopping) co_return errc::stopped;  // stop() does not wait for a link that is down
  }
}

asio::awaitable<Result<StreamState>> Consumer::Impl::read_stream_state() {
  auto self = shared_from_this();
  auto type = co_await cmds->exec_one(redis::command("TYPE", opt.key.stream));
  if (!type) co_return type.error();
  if (type->is_error()) {
    error_detail = fmt::format("TYPE {} failed: {}", opt.key.stream, type->str);
    co_return errc::redis_error;
  }
  if (type->str == "none") co_return StreamState{};
  if (type->str != "stream") {
    error_detail = fmt::format("key '{}' holds a {}, not a stream (WRONGTYPE); choose another --stream", opt.key.stream,
                               type->str);
    co_return errc::wrong_type;
  }
  auto info = co_await cmds->exec_one(redis::command("XINFO", "STREAM", opt.key.stream));
  if (!info) co_return info.error();
  if (info->is_error()) {
    if (info->str.find("no such key") != std::string::npos) co_return StreamState{};
    error_detail = fmt::format("XINFO STREAM {} failed: {}", opt.key.stream, info->str);
    co_return errc::redis_error;
  }
  co_return detail::parse_xinfo_stream(*info);
}

// Connects (retrying as start-up does) and refuses a key that is not a
// stream. Only a definite refusal ends the start here; a link lost after the
// connect is left to start_with_redis(), which reads the stream again.
asio::awaitable<error_code> Consumer::Impl::check_redis_first() {
  auto self = shared_from_this();
  if (auto ec = co_await connect_with_retry(*cmds, true)) co_return ec;
  auto stream = co_await read_stream_state();
  if (!stream && stream.error() == errc::wrong_type) co_return stream.error();
  error_detail.clear();
  co_return error_code{};
}

// Creates the group at the resume position when it is missing (never at 0 or
// $ when a checkpoint exists), and moves it forward when it is behind.
asio::awaitable<error_code> Consumer::Impl::prepare_group(ResumeReport& report) {
  auto self = shared_from_this();
  const auto position = report.position.to_string();
  auto created =
      co_await cmds->exec_one(redis::command("XGROUP", "CREATE", opt.key.stream, opt.key.group, position, "MKSTREAM"));
  if (!created) co_return created.error();
  if (!created->is_error()) {
    report.group_created = true;
    co_return error_code{};
  }
  if (created->error_prefix() != "BUSYGROUP") {
    error_detail = fmt::format("XGROUP CREATE {} {} failed: {}", opt.key.stream, opt.key.group, created->str);
    co_return created->error_prefix() == "WRONGTYPE" ? make_error_code(errc::wrong_type)
                                                     : make_error_code(errc::redis_error);
  }
  auto groups = co_await cmds->exec_one(redis::command("XINFO", "GROUPS", opt.key.stream));
  if (!groups) co_return groups.error();
  if (groups->is_error()) co_return error_code{};
  auto parsed = detail::parse_xinfo_groups(*groups);
  if (!parsed) co_return parsed.error();
  const bool from_policy =
      report.source == ResumeReport::Source::start_policy || report.source == ResumeReport::Source::regressed_policy;
  for (const auto& g : *parsed) {
    if (g.name == opt.key.group && from_policy && report.position < g.last_delivered)
      report.group_ahead = g.last_delivered;
    if (g.name != opt.key.group || !(g.last_delivered < report.position)) continue;
    auto moved = co_await cmds->exec_one(redis::command("XGROUP", "SETID", opt.key.stream, opt.key.group, position));
    if (!moved) co_return moved.error();
    if (moved->is_error()) {
      error_detail = fmt::format("XGROUP SETID failed: {}", moved->str);
      co_return errc::redis_error;
    }
    report.group_moved = true;
    log(fmt::format("group '{}' was behind the checkpoint ({} < {}); moved it forward", g.name,
                    g.last_delivered.to_string(), position));
  }
  co_return error_code{};
}

bool Consumer::Impl::is_refusal(error_code ec) { return ec == errc::auth_failed || ec == errc::tls_setup; }

bool Consumer::Impl::is_link_error(error_code ec) {
  return ec == errc::connect_failed || ec == errc::connection_closed || ec == errc::outcome_unknown ||
         ec == errc::command_timeout || ec == errc::protocol_error || ec == errc::redis_not_ready;
}

// The start-up steps that need Redis: lease, both copies, the stream, the
// decision, the group, reconciliation, the reading connection.
asio::awaitable<error_code> Consumer::Impl::start_with_redis(const detail::ResumeInputs& base, ResumeReport& out) {
  auto self = shared_from_this();
  detail::ResumeInputs inputs = base;
  // Open already after check_redis_first(), unless a failed attempt closed it.
  if (!cmds->is_open()) {
    if (auto ec = co_await connect_with_retry(*cmds, true)) co_return ec;
  }
  if (group_mode && opt.fencing) {
    if (auto ec = co_await acquire_lease()) co_return ec;
  }
  auto redis_copy = co_await redis::read_checkpoint(*cmds, opt.key, nullptr);
  if (!redis_copy) co_return redis_copy.error();
  inputs.redis = std::move(*redis_copy);
  auto stream = co_await read_stream_state();
  if (!stream) {
    if (error_detail.empty())
      error_detail = fmt::format("reading the stream's state failed: {}", stream.error().message());
    co_return stream.error();
  }
  inputs.stream = *stream;
  for (const auto id : detail::ids_to_look_up(inputs)) {
    const auto text = id.to_string();
    auto found = co_await cmds->exec_one(redis::command("XRANGE", opt.key.stream, text, text));
    if (!found) co_return found.error();
    if (found->is_error()) {
      // An ACL without XRANGE, say: the other checks still apply.
      log(fmt::format("cannot look checkpoint {} up in the stream ({}); whether the stream lost it is not checked",
                      text, found->str));
      continue;
    }
    if (found->elements.empty()) inputs.absent_ids.push_back(id);
  }

  std::string refusal;
  auto decided = detail::decide_resume(std::move(inputs), &refusal);
  if (!decided) {
    error_detail = std::move(refusal);
    co_return decided.error();
  }
  ResumeReport report = std::move(*decided);

  commits.start_at(report.position);
  staged_to = report.position;
  entries_seen = detail::entries_seen_at(report);
  metadata = report.metadata;
  if (const auto* winner = report.winner()) epoch = winner->checkpoint->epoch;
  // reconcile() starts the next epoch, above every copy.
  if (report.regressed_from) epoch = std::max(epoch, report.regressed_from->epoch);
  reading.start_at(report.position, entries_seen, report.stream.max_deleted);  // start-up counted any XDEL so far

  // Before the first change made for this start: a refusal leaves the group
  // and both copies as they were. The resume line still says what was found,
  // which is what the refusal is about.
  if (opt.check_resume) {
    if (auto refusal = opt.check_resume(report); !refusal.empty()) {
      log(report.describe());
      error_detail = std::move(refusal);
      co_return errc::start_refused;
    }
  }
  if (group_mode) {
    if (auto ec = co_await prepare_group(report)) co_return ec;
  }
  if (auto ec = co_await reconcile(report)) co_return ec;
  if (auto ec = co_await connect_with_retry(*reads, true)) co_return ec;

  if (report.regressed) ++metrics.regressions;
  if (report.gap) {
    ++metrics.gaps;
    metrics.gap_entries += *report.gap;
  }
  out = std::move(report);
  co_return error_code{};
}

std::string Consumer::Impl::check_shared_store() const {
  if (!opt.data_dir.empty()) {
    std::error_code ec;
    if (!std::filesystem::equivalent(opt.data_dir, shared->dir(), ec))
      return fmt::format("data_dir {} is not the store's directory {}: leave it empty with a shared store",
                         opt.data_dir.string(), shared->dir().string());
  }
  for (const auto& family : opt.column_families)
    if (!shared->column_family(family))
      return fmt::format("column family '{}' is not one of the store's: open the store with it", family);
  if (opt.env) return "env is the store's with a shared store: set it in StoreOptions";
  return {};
}

error_code Consumer::Impl::open_store() {
  if (!shared) {
    StoreOptions store_options;
    store_options.dir = opt.data_dir;
    store_options.column_families = opt.column_families;
    store_options.env = opt.env;
    auto opened = Store::open(store_options, &error_detail);
    if (!opened) return opened.error();
    shared = std::move(*opened);
  }
  if (!shared->impl().claim(opt.key)) {
    shared.reset();
    error_detail = fmt::format("a consumer with the same key ({}) runs on this store already", opt.key.describe());
    return errc::consumer_running;
  }
  store = shared->impl().local.get();
  committer = shared->impl().committer.get();
  client = committer->add_client();
  {
    // The owner is stable per data directory: a restart after a crash
    // recognises its own lease; another host (another directory) does not.
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    owner = fmt::format("{}:{}", host, store->instance_id());
  }
  return {};
}

asio::awaitable<Result<ResumeReport>> Consumer::Impl::start() {
  auto self = shared_from_this();
  if (started) co_return errc::stopped;
  started = true;
  // Failed: the key is free at once for another consumer of a shared store,
  // and an own store is closed, without waiting for async_stop() or the
  // destructor.
  Result<ResumeReport> result = errc::stopped;
  try {
    result = co_await start_steps();
  } catch (...) {
    release_store();
    throw;
  }
  if (!result) release_store();
  co_return result;
}

asio::awaitable<Result<ResumeReport>> Consumer::Impl::start_steps() {
  auto self = shared_from_this();

  if (auto problem = validate(opt)) {
    error_detail = std::move(problem.detail);
    co_return problem.code;
  }
  if (store_given) {
    if (auto refusal = check_shared_store(); !refusal.empty()) {
      error_detail = std::move(refusal);
      co_return errc::invalid_options;
    }
  }
  auto url = redis::Url::parse(opt.redis_url);  // valid: validate() parsed it
  if (!url) co_return url.error();

  const auto copt = redis::ConnectionOptions::of(opt);
  cmds = std::make_unique<redis::Connection>(ex, *url, copt);
  reads = std::make_unique<redis::Connection>(ex, *url, copt);
  startup_deadline =
      opt.startup_timeout == milliseconds::max() ? Clock::time_point::max() : Clock::now() + opt.startup_timeout;

  // Before the data directory is created or opened: a start that fails
  // because Redis is unreachable, refuses us, or holds no stream under the
  // name leaves no directory behind.
  if (auto ec = co_await check_redis_first()) co_return ec;

  if (auto ec = open_store()) co_return ec;

  detail::ResumeInputs inputs;
  inputs.local = store->read(opt.key);
  inputs.start = opt.start;
  if (group_mode) {
    auto unacked = store->read_unacked(opt.key);
    if (unacked)
      pending.load(*unacked);
    else
      log(
          fmt::format("the list of handled entries not yet XACKed cannot be read ({}); the pending entries are "
                      "handed out again",
                      unacked.error().message()));
  }
  inputs.on_regressed = opt.on_regressed;

  // Everything that talks to Redis is retried as a whole while the link
  // fails (within startup_timeout): a decision is never made on a Redis copy
  // or a stream state that could not be read.
  detail::Backoff backoff(opt.reconnect_initial, opt.reconnect_max);
  ResumeReport report;
  for (;;) {
    const auto ec = co_await start_with_redis(inputs, report);
    if (!ec) break;
    if (stopping) co_return errc::stopped;
    // A command that met LOADING (through a user that may not PING) has no
    // message of its own.
    if (ec == errc::redis_not_ready && error_detail.empty()) {
      const auto& reply = cmds->not_ready_reply().empty() ? reads->not_ready_reply() : cmds->not_ready_reply();
      error_detail = fmt::format("{} is not ready: {}", cmds->url().redacted(), reply);
    }
    if (!is_link_error(ec) || Clock::now() >= startup_deadline) co_return ec;
    const auto delay = backoff.next();
    log(fmt::format("start-up interrupted ({}); retrying in {} ms (attempt {})",
                    error_detail.empty() ? ec.message() : error_detail, delay.count(), backoff.attempts()));
    error_detail.clear();
    co_await wait_unless_stopped(delay);
    if (stopping) co_return errc::stopped;
    inputs.local = store->read(opt.key);  // a failed attempt may have re-seeded it
  }

  spawn_loop("write-through loop", &Impl::flush_loop, &Impl::flusher_running);
  spawn_loop("read loop", &Impl::read_loop, &Impl::read_loop_running);
  log(report.describe());
  co_return report;
}

}  // namespace streamckpt
