#include <streamckpt/metrics.hpp>
#include <streamckpt/report.hpp>

#include <fmt/format.h>

namespace streamckpt {
namespace {

std::string describe_copy(const CheckpointCopy& c) {
  switch (c.state) {
    case CheckpointCopy::State::absent:
      return "absent";
    case CheckpointCopy::State::valid:
      return c.checkpoint->id.to_string();
    case CheckpointCopy::State::invalid:
      return fmt::format("invalid ({})", c.reason);
  }
  return {};
}

}  // namespace

const char* to_string(ResumeReport::Source source) {
  switch (source) {
    case ResumeReport::Source::local:
      return "local";
    case ResumeReport::Source::redis:
      return "redis";
    case ResumeReport::Source::start_policy:
      return "start-policy";
    case ResumeReport::Source::regressed_policy:
      return "regressed-policy";
  }
  return "?";
}

const CheckpointCopy* ResumeReport::winner() const {
  return source == Source::local ? &local : source == Source::redis ? &redis : nullptr;
}

std::string ResumeReport::describe() const {
  std::string line =
      fmt::format("resume after {} (source: {}); local copy: {}; redis copy: {}; stream: ", position.to_string(),
                  to_string(source), describe_copy(local), describe_copy(redis));
  if (stream.exists)
    line +=
        fmt::format("length {}, last-generated-id {}, first entry {}", stream.length, stream.last_generated.to_string(),
                    stream.first_entry ? stream.first_entry->to_string() : std::string("none"));
  else
    line += "missing";
  if (regressed)
    line +=
        regressed_entries
            ? fmt::format("; REGRESSED: the stream went backwards, at least {} entries a checkpoint had seen are gone",
                          *regressed_entries)
            : std::string("; REGRESSED: the stream went backwards behind a checkpoint");
  if (gap) line += fmt::format("; GAP: {} entries were deleted before they were handled", *gap);
  if (group_created) line += "; group created";
  if (group_moved) line += "; group moved forward";
  if (group_ahead)
    line += fmt::format(
        "; the group had delivered up to {}: this consumer's pending entries come first, then the entries after it",
        group_ahead->to_string());
  if (local_reseeded) line += "; local copy re-seeded";
  if (redis_reseeded) line += "; redis copy re-seeded";
  return line;
}

std::string Metrics::to_json() const {
  return fmt::format(
      R"({{"events":{},"acks":{},"commits":{},"fsyncs":{},"xacks":{},"xack_failures":{},"redis_flushes":{},)"
      R"("flush_failures":{},"reconnects":{},"storage_errors":{},"gaps":{},"gap_entries":{},)"
      R"("regressions":{},"deleted_pending":{},"stall_pauses":{},"ack_to_durable_us":{{"p50":{},"p99":{},"p999":{}}},)"
      R"("sync_us":{{"p50":{},"p99":{},"max":{}}},"redis_lag":{{"events":{},"ms":{}}},)"
      R"("claimed":{},"claim_xacks":{},"members_removed":{},"dead_lettered":{},"groups_lost":{}}})",
      events, acks, commits, fsyncs, xacks, xack_failures, redis_flushes, flush_failures, reconnects, storage_errors,
      gaps, gap_entries, regressions, deleted_pending, stall_pauses, ack_to_durable_p50_us, ack_to_durable_p99_us,
      ack_to_durable_p999_us, sync_p50_us, sync_p99_us, sync_max_us, redis_lag_events, redis_lag_ms, claimed,
      claim_xacks, members_removed, dead_lettered, groups_lost);
}

}  // namespace streamckpt
