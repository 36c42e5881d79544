// Error codes of streamckpt. They live in their own boost::system category so
// that they compose with Asio's error codes in completion handlers.
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <string>

#include <type_traits>

namespace streamckpt {

enum class errc {
  // core
  invalid_stream_id = 1,
  invalid_key,
  record_truncated,
  record_oversize,
  record_bad_crc,
  record_unknown_version,
  record_malformed,
  record_key_mismatch,
  metadata_too_large,
  // local store
  store_locked,
  store_io,
  store_corruption,
  store_closed,
  // redis
  invalid_url,
  connect_failed,
  connection_closed,
  outcome_unknown,
  command_timeout,
  protocol_error,
  auth_failed,
  redis_error,
  wrong_type,
  no_group,
  checkpoint_hash_invalid,
  // consumer
  no_valid_checkpoint,
  stream_regressed,
  lease_held,
  stopped,
  tls_setup,         // a TLS file cannot be loaded (redis)
  invalid_options,   // ConsumerOptions out of range (consumer)
  redis_not_ready,   // LOADING, BUSY, MASTERDOWN, client limit: Redis cannot serve yet (redis)
  store_foreign,     // the data directory holds something other than a streamckpt store (local store)
  start_refused,     // ConsumerOptions::check_resume refused where start-up resumes (consumer)
  consumer_running,  // a consumer with the same key runs on the store already (consumer)
  internal_error,    // an exception escaped the consumer's work (a callback that threw, memory exhausted) (consumer)
  not_delivered,     // ack() of an event this consumer did not deliver (consumer)
  already_acked,     // ack() of an event acked before (consumer)
  unknown_column_family,  // effects write to a column family the store does not have (local store)
  effects_refused,        // effects hold a Merge (no merge operator) or another operation the store cannot apply (local
                          // store)
  no_store,               // the data directory holds no checkpoint store (admin)
  stream_missing,         // the stream does not exist (admin)
  beyond_stream,          // a position beyond the stream's last-generated-id (admin)
  backwards_refused,      // setting a checkpoint below the current one without force (admin)
};

const boost::system::error_category& category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), category()}; }

// A value or the error that prevented it.
template <class T>
using Result = boost::system::result<T>;

// An error with the sentence that tells the user what failed; empty (false)
// when nothing did.
struct Problem {
  boost::system::error_code code{};
  std::string detail{};
  explicit operator bool() const noexcept { return static_cast<bool>(code); }
};

// A value, or the error that prevented it with its sentence: what a
// synchronous call that can fail in many ways returns. value() on an error
// throws boost::system::system_error with the sentence.
template <class T>
using Outcome = boost::system::result<T, Problem>;

[[noreturn]] void throw_exception_from_error(const Problem& problem, const boost::source_location& where);

}  // namespace streamckpt

template <>
struct boost::system::is_error_code_enum<streamckpt::errc> : std::true_type {};
