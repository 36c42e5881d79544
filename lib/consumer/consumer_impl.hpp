// The consumer's state and its coroutines. Everything here runs on the
// consumer's executor, except the committer's thread, whose results are
// posted back.
#pragma once

#include "consumer/ack_tracker.hpp"
#include "consumer/commit_pipeline.hpp"
#include "consumer/pending_ledger.hpp"
#include "consumer/read_state.hpp"
#include "consumer/resume.hpp"
#include "consumer/signal.hpp"
#include "core/latency.hpp"
#include "local/committer.hpp"
#include "local/store_impl.hpp"
#include "redis/backoff.hpp"
#include "redis/connection.hpp"

#include <streamckpt/consumer.hpp>
#include <streamckpt/local_store.hpp>

#include <chrono>
#include <deque>
#include <exception>
#include <set>

namespace streamckpt {

struct Consumer::Impl : std::enable_shared_from_this<Consumer::Impl> {
  using Clock = std::chrono::steady_clock;

  Impl(boost::asio::any_io_executor executor, ConsumerOptions options, std::shared_ptr<Store> given = nullptr);
  ~Impl();

  // start-up (startup.cpp). A start that fails leaves the store as it found
  // it (release_store()); the lease, when one was taken, waits for stop().
  boost::asio::awaitable<Result<ResumeReport>> start();
  boost::asio::awaitable<Result<ResumeReport>> start_steps();
  boost::asio::awaitable<boost::system::error_code> start_with_redis(const detail::ResumeInputs& inputs,
                                                                     ResumeReport& out);
  static bool is_link_error(boost::system::error_code ec);
  // Refused credentials or TLS files: retrying a connection cannot help.
  static bool is_refusal(boost::system::error_code ec);
  boost::asio::awaitable<boost::system::error_code> connect_with_retry(redis::Connection& c, bool at_startup);
  boost::asio::awaitable<boost::system::error_code> check_redis_first();
  boost::asio::awaitable<Result<StreamState>> read_stream_state();
  // Opens the consumer's own store, or checks the options against the one
  // it was given, and registers it there.
  boost::system::error_code open_store();
  // The options a shared store decides: refused when they disagree with it.
  std::string check_shared_store() const;
  boost::asio::awaitable<boost::system::error_code> prepare_group(ResumeReport& report);

  // reading (reading.cpp)
  boost::asio::awaitable<void> read_loop();
  // Sends the read `reading` asks for and executes what its reply means.
  boost::asio::awaitable<boost::system::error_code> read_once();
  boost::asio::awaitable<boost::system::error_code> recreate_group(const std::string& why);
  // `cancelled` (may be null) is set by a per-operation cancellation: the
  // waits end with operation_aborted; a batch not handed out stays ready.
  boost::asio::awaitable<Result<Batch>> next(std::shared_ptr<bool> cancelled);
  boost::asio::awaitable<Result<Batch>> next_batch(const std::shared_ptr<bool>& cancelled);
  boost::asio::awaitable<bool> stream_went_backwards();

  // claiming (claiming.cpp)
  // A pending entry this consumer never handled, into `batch`: delivered in
  // order when above every delivered ID, otherwise out of order.
  void hand_out_pending(Event&& event, Batch& batch);
  // Hands out pending entries this consumer never handled, each a delivery
  // again. With max_deliveries each goes out in a batch of its own, counted
  // when next() hands it to the application (dead_letter.cpp): entries read
  // ahead behind a handler that crashes are not counted.
  void redeliver(std::vector<Event> events, Batch& batch);
  // Counts the delivery of `event` in the group's hash; past max_deliveries
  // copies it to the dead-letter stream and acks it instead: true then.
  boost::asio::awaitable<bool> give_up(const Event& event);
  std::string dead_letter_stream() const;
  std::set<StreamId> count_at_hand_out;  // delivered again, counted when next() returns it
  boost::asio::awaitable<boost::system::error_code> claim_once();
  std::chrono::milliseconds claim_interval() const;

  // acks and commits (consumer.cpp)
  boost::system::error_code ack(const Event& event, std::shared_ptr<const rocksdb::WriteBatch> effects,
                                std::optional<std::string> metadata);
  void kick_commit();
  void submit_staged();
  void on_commit_done(boost::system::error_code ec, std::string detail, detail::Staged job);
  void kick_xack();
  boost::asio::awaitable<void> xack_loop();
  boost::asio::awaitable<boost::system::error_code> wait_durable(StreamId id, std::shared_ptr<bool> cancelled);
  boost::asio::awaitable<boost::system::error_code> stop();
  void request_stop();
  void close_now();
  // Gives the store back: writes what this consumer queued, frees its key for
  // another consumer of a shared store, closes an own store (and so its
  // directory's lock). Idempotent.
  void release_store();
  // Waits `delay`, or less: a stop ends the wait at once. Every reconnect
  // backoff, the XACK retry's and the wait for another instance's lease go
  // through here. Not the local commit's retry: a stop waits for every ack to
  // be durable, and cutting it short would retry a failing disk in a tight
  // loop. The caller re-checks `stopping` after it.
  boost::asio::awaitable<void> wait_unless_stopped(std::chrono::milliseconds delay);
  // The committer's counts and write times, while it exists.
  void copy_committer_metrics(Metrics& m) const;

  // the Redis copy and the lease (redis_copy.cpp)
  boost::asio::awaitable<boost::system::error_code> acquire_lease();
  // What renewing the lease found: it was ours, it was gone and is ours
  // again, or another instance holds it.
  enum class LeaseRenewal { renewed, retaken, held_elsewhere };
  // Fails with a link error, or with errc::redis_error and Redis's answer in
  // `refusal`.
  boost::asio::awaitable<Result<LeaseRenewal>> renew_lease(std::string& refusal);
  boost::asio::awaitable<void> lease_loop();
  boost::asio::awaitable<void> release_lease();
  boost::asio::awaitable<boost::system::error_code> reconcile(ResumeReport& report);
  void mark_redis_dirty(const Checkpoint& c);
  boost::asio::awaitable<void> flush_loop();
  boost::asio::awaitable<bool> flush_once();
  boost::asio::awaitable<bool> settle_not_newer(const Checkpoint& c);

  void log(std::string_view line) const;
  void fail(boost::system::error_code ec, std::string detail);
  // Runs a background loop (reading, XACK, write-through, lease) with
  // `*running` set. An exception that escapes it (a log callback that throws,
  // memory exhausted) fails the consumer (fail_by_exception) and the loop
  // counts as ended, so that next() and stop() never wait for it for ever.
  void spawn_loop(const char* name, boost::asio::awaitable<void> (Impl::*loop)(), bool Impl::*running);
  // Fails the consumer with errc::internal_error and "<context>: <what>".
  void fail_by_exception(std::string_view context, const std::exception_ptr& e);
  std::size_t in_flight() const;

  boost::asio::any_io_executor ex;
  ConsumerOptions opt;
  bool group_mode;

  // The store, given or the consumer's own; `store` and `committer` are its
  // parts while the consumer uses them, `client` its ID with the committer.
  std::shared_ptr<Store> shared;
  LocalStore* store = nullptr;
  detail::Committer* committer = nullptr;
  std::uint64_t client = 0;
  bool store_given = false;
  std::unique_ptr<redis::Connection> reads;  // blocking reads only: never delays an ack
  std::unique_ptr<redis::Connection> cmds;   // XACK, write-through, XINFO, lease

  // Life cycle.
  bool started = false;
  bool stopping = false;
  bool read_loop_running = false;
  boost::system::error_code fatal;     // ended reading
  Clock::time_point startup_deadline;  // start() gives up on the link here
  std::string error_detail;

  // The checkpoint: the commit path (commits.durable() is on disk) and what
  // the next checkpoint records.
  std::uint64_t epoch = 0;
  std::string metadata;            // of the latest staged or durable checkpoint
  std::uint64_t entries_seen = 0;  // of the latest staged or durable checkpoint
  detail::AckTracker tracker;
  // Staged acks are handed to the committer once per executor turn, however
  // many commits are in flight: it merges whatever is queued into its next
  // synced write the moment the current one ends (group commit), so an ack
  // waits for at most the sync in progress and its own.
  detail::CommitPipeline commits;
  bool submit_posted = false;

  // What was handled, by entry (group mode): what a pending entry given
  // again means, and the list every commit writes.
  detail::PendingLedger pending;
  StreamId staged_to;  // the watermark of the latest staged (or durable) checkpoint
  std::vector<LocalStore::Unacked> unacked_list() const;

  // XACK of durable entries (group mode).
  std::deque<StreamId> xack_queue;
  bool xack_running = false;
  std::string last_xack_error;       // the last error reply to XACK, already logged
  std::string logged_flush_refusal;  // the write-through's last refusal, logged once
  std::string last_flush_failure;    // why the last write-through failed; "" after a success

  // Reading: what to read next and what a reply means (read_state.hpp).
  detail::ReadState reading;
  std::deque<Batch> ready;  // read ahead, not yet handed out; an empty batch is an idle tick
  detail::Backoff read_backoff;
  Clock::time_point next_claim;  // group mode with claim_idle: when claim_once() runs next

  detail::Signal ready_signal;    // a batch is ready, or reading ended
  detail::Signal space_signal;    // in-flight room, or stopping
  detail::Signal durable_signal;  // the durable checkpoint moved, or the commit path went idle
  detail::Signal loop_signal;     // the read loop or the XACK loop ended

  // The Redis copy: only the latest durable checkpoint waits to be written.
  std::optional<Checkpoint> redis_dirty;
  Clock::time_point dirty_since;
  std::uint64_t redis_entries_seen = 0;                             // of the last checkpoint Redis holds
  std::optional<StreamId> redis_ahead_reported;                     // a valid Redis copy ahead of ours, already logged
  std::optional<std::pair<std::uint64_t, StreamId>> newest_forced;  // rank() of the newest forced write sent
  bool flusher_running = false;
  bool flusher_stop = false;
  boost::asio::steady_timer flush_timer;  // cancelled to flush at once
  std::string owner;                      // this instance, as written to the lease and the hash
  bool fenced = false;                    // group mode with a lease
  bool lease_running = false;
  boost::asio::steady_timer lease_timer;
  std::vector<boost::asio::steady_timer*> stoppable_waits;  // the waits of wait_unless_stopped() in progress

  Metrics metrics;
  detail::LatencyHistogram ack_latency;
};

}  // namespace streamckpt
