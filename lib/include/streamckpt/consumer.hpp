// Consumer: consumes one Redis stream and never loses its place.
//
// After every ack the checkpoint (the highest ID below which every delivered
// event is acked) is committed to the local store with a synced write, then
// XACKed (group mode) and written through to Redis in batches. async_start() reads
// both copies, validates them against their checksums and the stream, and
// resumes from the higher valid one.
//
// Threading: every member must be called on the executor given to the
// constructor, which must not run handlers concurrently (a single-threaded
// io_context, or a strand). RocksDB writes run on the store's committer
// thread; their results are posted back to the executor.
//
// Async operations take an Asio completion token. With Boost 1.81 coroutines,
// pass asio::as_tuple(asio::use_awaitable) to receive the error as a value.
//
// An exception that escapes the consumer's work (a log or check_resume
// callback that throws, memory exhausted) fails the consumer: the operation
// in progress, and every async_next() after it, completes with
// errc::internal_error, error_detail() says where and what ("the read loop
// failed: …", "async_start() failed: …"), and async_stop() still commits what was acked.
//
// async_next() and async_durable() support per-operation cancellation (a cancellation
// slot bound to the token, asio::cancel_after, the loser of an awaitable
// `||`), of any cancellation type: the operation completes with
// asio::error::operation_aborted and the consumer keeps running; a batch not
// yet handed out stays for the next async_next(). async_start() and async_stop() are not
// cancellable: request_stop() ends a start-up that waits.
#pragma once

#include <streamckpt/checkpoint.hpp>
#include <streamckpt/error.hpp>
#include <streamckpt/metrics.hpp>
#include <streamckpt/options.hpp>
#include <streamckpt/report.hpp>
#include <streamckpt/store.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

// An application that passes effects to ack() builds them with
// <rocksdb/write_batch.h>; this header needs only the names.
namespace rocksdb {
class ColumnFamilyHandle;
class WriteBatch;
}  // namespace rocksdb

namespace streamckpt {

struct Event {
  StreamId id;
  std::vector<std::pair<std::string, std::string>> fields;  // in stream order
};

using Batch = std::vector<Event>;

class Consumer {
 public:
  using executor_type = boost::asio::any_io_executor;

  // A consumer with a store of its own, in options.data_dir (opened by
  // async_start()). REQUIRES: options.key and options.data_dir are set (async_start()
  // reports errc::invalid_key otherwise).
  Consumer(executor_type executor, ConsumerOptions options);
  // A consumer of a shared store (see Store): its commits join those of the
  // store's other consumers. options.data_dir may stay empty (or name the
  // store's directory), options.column_families must be among the store's,
  // and options.env is the store's: async_start() fails with
  // errc::invalid_options otherwise, and with errc::consumer_running while
  // another consumer with the same key runs on the store.
  Consumer(executor_type executor, std::shared_ptr<Store> store, ConsumerOptions options);
  // Closes without the final commit: what was acked but not yet durable is
  // handled again on the next start (as after a crash). Call async_stop() first.
  ~Consumer();
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  executor_type get_executor() const { return executor_; }

  // Opens the local store, connects, reads and validates both checkpoint
  // copies, decides where to resume, prepares the group (group mode) and
  // starts reading. Handler: void(error_code, ResumeReport). Errors:
  // invalid_url, invalid_key, invalid_options (a duration outside 0 to
  // k_max_option_duration), store_locked, store_io, connect_failed,
  // redis_not_ready (Redis still loading when startup_timeout ran out),
  // auth_failed, wrong_type, no_valid_checkpoint, stream_regressed,
  // lease_held. A start that fails gives the store back at once: the key is
  // free for another consumer of a shared store, and an own store is closed
  // (its directory free for another); async_stop() then releases the lease,
  // when one was taken. REQUIRES: called once.
  template <class Token>
  auto async_start(Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, ResumeReport)>(
        [this](auto handler) { start_erased(std::move(handler)); }, token);
  }

  // The next batch of events, in ID order. An empty batch means no entry
  // arrived for options.block (a chance for housekeeping). Completes with
  // errc::stopped after request_stop()/async_stop(), or with the fatal error that
  // ended reading. Handler: void(error_code, Batch).
  // Reading runs at most options.max_in_flight events ahead of the durable
  // checkpoint: while that many delivered events are not acked and durable,
  // async_next() waits for them, without empty batches. An application that holds
  // acks back until it has seen more events must hold fewer than that.
  // async_next() also holds back events (not empty batches) while the synced
  // write in progress has run several times longer than this disk's writes
  // usually take (the stall limit: docs/internals.md, "Tuning constants"):
  // whatever the application acked meanwhile would wait for it too.
  // It goes on when that write ends; Metrics::stall_pauses counts the waits.
  // REQUIRES: async_start() succeeded; one async_next() at a time.
  template <class Token>
  auto async_next(Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, Batch)>(
        [this](auto handler) { next_erased(std::move(handler)); }, token);
  }

  // The application has handled `event`. Acks may come in any order; the
  // checkpoint advances over the contiguous acked prefix. Non-blocking: the
  // commit happens on the committer thread; async_durable(id) waits for it.
  // Returns an empty error_code when accepted, errc::not_delivered for an
  // event this consumer did not deliver, or errc::already_acked for one
  // acked before (or at or below the checkpoint); nothing is kept then.
  [[nodiscard]] boost::system::error_code ack(const Event& event);
  // Transactional ack: `effects` (writes to the application's column
  // families, see column_family()) are committed in the same synced write as
  // the checkpoint that covers `event` — never before — so the effect and the
  // checkpoint survive a crash together. `metadata` (<= 1 KiB) is stored in
  // the checkpoint record and returned by async_start() in ResumeReport. Besides
  // the errors above, refused (keeping nothing) with
  // errc::unknown_column_family for effects on a column family the store
  // does not have, errc::effects_refused for effects with a Merge (the
  // store's column families have no merge operator, and RocksDB would reject
  // the write, with the acks of every other consumer of the store in it), and
  // errc::metadata_too_large for metadata over 1 KiB. A
  // commit that failed may still have reached the disk and is retried:
  // effects must be safe to apply twice (Put and Delete are; SingleDelete is
  // not).
  [[nodiscard]] boost::system::error_code ack(const Event& event, rocksdb::WriteBatch effects,
                                              std::optional<std::string> metadata = std::nullopt);

  // Completes once every event <= id is durable locally. Handler:
  // void(error_code); errc::stopped if the consumer stops first.
  template <class Token>
  auto async_durable(StreamId id, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
        [this, id](auto handler) { durable_erased(id, std::move(handler)); }, token);
  }

  // Stops reading: a pending or later async_next() completes with errc::stopped.
  // A reconnect backoff or a wait for the lease (start-up included) ends at
  // once. Acks are still accepted. Idempotent.
  void request_stop();

  // Stops reading, commits every acked event, XACKs, flushes the Redis copy,
  // and closes. A clean stop never causes a duplicate. Handler:
  // void(error_code): the first error of the final commit or flush.
  template <class Token>
  auto async_stop(Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
        [this](auto handler) { stop_erased(std::move(handler)); }, token);
  }

  // The names before async_start, async_next, async_durable and async_stop,
  // kept for one release.
  template <class Token>
  [[deprecated("use async_start")]] auto start(Token&& token) {
    return async_start(std::forward<Token>(token));
  }
  template <class Token>
  [[deprecated("use async_next")]] auto next(Token&& token) {
    return async_next(std::forward<Token>(token));
  }
  template <class Token>
  [[deprecated("use async_durable")]] auto durable(StreamId id, Token&& token) {
    return async_durable(id, std::forward<Token>(token));
  }
  template <class Token>
  [[deprecated("use async_stop")]] auto stop(Token&& token) {
    return async_stop(std::forward<Token>(token));
  }

  // A handle to an application column family named in
  // options.column_families, for building the effects of a transactional ack
  // (WriteBatch only: the DB rejects it). Valid from async_start() for the
  // consumer's life, also while storage fails and the store is reopened.
  // nullptr when unknown or not started.
  rocksdb::ColumnFamilyHandle* column_family(const std::string& name) const;
  // Reads the application's state: one key of one of its column families.
  // Blocking (a RocksDB point read); errc::store_closed while a failed store
  // is being reopened.
  [[nodiscard]] Result<std::optional<std::string>> get(const std::string& family, std::string_view key) const;

  // The last durable checkpoint.
  StreamId durable_id() const;
  // Once the consumer failed: the sentence of the error that ended it (the
  // server, the directory, Redis's own message), set by the first fatal
  // error and kept. async_start()'s own failure is in its report
  // (ResumeReport::failure).
  std::string error_detail() const;
  Metrics metrics() const;

  struct Impl;

 private:
  void start_erased(boost::asio::any_completion_handler<void(boost::system::error_code, ResumeReport)>);
  void next_erased(boost::asio::any_completion_handler<void(boost::system::error_code, Batch)>);
  void durable_erased(StreamId, boost::asio::any_completion_handler<void(boost::system::error_code)>);
  void stop_erased(boost::asio::any_completion_handler<void(boost::system::error_code)>);

  executor_type executor_;
  std::shared_ptr<Impl> impl_;
};

}  // namespace streamckpt
