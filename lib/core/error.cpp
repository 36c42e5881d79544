#include <streamckpt/error.hpp>

#include <boost/system/system_error.hpp>
#include <boost/throw_exception.hpp>

#include <string>

namespace streamckpt {
namespace {

class Category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "streamckpt"; }

  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::invalid_stream_id:
        return "invalid stream ID (expected <ms>-<seq>, e.g. 1700000000000-0)";
      case errc::invalid_key:
        return "invalid checkpoint key";
      case errc::record_truncated:
        return "checkpoint record is truncated";
      case errc::record_oversize:
        return "checkpoint record is larger than any valid record";
      case errc::record_bad_crc:
        return "checkpoint record fails its CRC-32C check";
      case errc::record_unknown_version:
        return "checkpoint record has an unknown version";
      case errc::record_malformed:
        return "checkpoint record is malformed";
      case errc::record_key_mismatch:
        return "checkpoint record belongs to another key";
      case errc::metadata_too_large:
        return "checkpoint metadata is larger than 1024 bytes";
      case errc::store_locked:
        return "data directory is held by another process";
      case errc::store_io:
        return "local checkpoint store I/O error";
      case errc::store_corruption:
        return "local checkpoint store is corrupted";
      case errc::store_closed:
        return "local checkpoint store is closed";
      case errc::store_foreign:
        return "the data directory holds no streamckpt store";
      case errc::invalid_url:
        return "invalid Redis URL";
      case errc::connect_failed:
        return "cannot connect to Redis";
      case errc::connection_closed:
        return "Redis connection closed";
      case errc::outcome_unknown:
        return "Redis connection lost; outcome of the command unknown";
      case errc::command_timeout:
        return "Redis command timed out; outcome unknown";
      case errc::protocol_error:
        return "Redis protocol error";
      case errc::auth_failed:
        return "Redis authentication failed";
      case errc::redis_error:
        return "Redis returned an error";
      case errc::redis_not_ready:
        return "Redis is not ready (loading its data, busy with a script, cut off from its master, or at its client "
               "limit)";
      case errc::wrong_type:
        return "the key holds a value that is not a stream";
      case errc::no_group:
        return "the consumer group does not exist";
      case errc::checkpoint_hash_invalid:
        return "the Redis checkpoint hash is invalid";
      case errc::no_valid_checkpoint:
        return "no valid checkpoint and the start policy is 'fail'";
      case errc::stream_regressed:
        return "the stream went backwards and the policy is 'fail'";
      case errc::lease_held:
        return "another live instance holds this consumer's lease";
      case errc::stopped:
        return "consumer stopped";
      case errc::tls_setup:
        return "cannot load a TLS file";
      case errc::invalid_options:
        return "invalid consumer options";
      case errc::start_refused:
        return "the application refused where start-up would resume";
      case errc::consumer_running:
        return "a consumer with the same key runs on this store already";
      case errc::internal_error:
        return "an exception ended the consumer's work";
      case errc::not_delivered:
        return "the event was not delivered by this consumer";
      case errc::already_acked:
        return "the event was acked already";
      case errc::unknown_column_family:
        return "the effects write to a column family the store does not have";
      case errc::effects_refused:
        return "the effects hold an operation the store cannot apply (a Merge: no merge operator)";
      case errc::no_store:
        return "no checkpoint store in the data directory";
      case errc::stream_missing:
        return "the stream does not exist";
      case errc::beyond_stream:
        return "the position is beyond the stream's last-generated-id";
      case errc::backwards_refused:
        return "refused to move the checkpoint backwards";
    }
    return "unknown streamckpt error";
  }
};

}  // namespace

const boost::system::error_category& category() noexcept {
  static const Category instance;
  return instance;
}

void throw_exception_from_error(const Problem& problem, const boost::source_location& where) {
  boost::throw_exception(boost::system::system_error(problem.code, problem.detail), where);
}

}  // namespace streamckpt
