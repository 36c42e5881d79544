#include "consumer/resume.hpp"

#include "consumer/gap.hpp"

#include <fmt/format.h>

namespace streamckpt::detail {
namespace {

// A copy that claims an entry the stream never generated cannot be trusted.
void check_against_stream(CheckpointCopy& copy, const StreamState& stream, bool& regressed,
                          std::optional<Checkpoint>& regressed_from) {
  if (!copy.valid()) return;
  const auto id = copy.checkpoint->id;
  if (id > stream.last_generated) {
    regressed = true;
    if (!regressed_from || regressed_from->rank() < copy.checkpoint->rank()) regressed_from = copy.checkpoint;
    copy = CheckpointCopy::invalid(
        fmt::format("checkpoint {} is beyond the stream's last-generated-id {} (the stream went backwards)",
                    id.to_string(), stream.last_generated.to_string()));
  }
}

}  // namespace

Result<ResumeReport> decide_resume(ResumeInputs in) {
  ResumeReport r;
  r.stream = in.stream;
  check_against_stream(in.local, in.stream, r.regressed, r.regressed_from);
  check_against_stream(in.redis, in.stream, r.regressed, r.regressed_from);
  r.local = std::move(in.local);
  r.redis = std::move(in.redis);

  const Checkpoint* best = nullptr;
  if (r.local.valid()) {
    best = &*r.local.checkpoint;
    r.source = ResumeReport::Source::local;
  }
  if (r.redis.valid() && (!best || r.redis.checkpoint->rank() > best->rank())) {
    best = &*r.redis.checkpoint;
    r.source = ResumeReport::Source::redis;
  }

  const Checkpoint* newest = best;
  if (r.regressed_from && (!newest || newest->rank() < r.regressed_from->rank())) newest = &*r.regressed_from;
  if (newest) r.metadata = newest->metadata;

  if (best) {
    r.position = best->id;
  } else if (r.regressed) {
    r.source = ResumeReport::Source::regressed_policy;
    switch (in.on_regressed) {
      case RegressedPolicy::first:
        r.position = StreamId::min();
        break;
      case RegressedPolicy::head:
        r.position = in.stream.last_generated;
        break;
      case RegressedPolicy::fail:
        return errc::stream_regressed;
    }
  } else {
    r.source = ResumeReport::Source::start_policy;
    switch (in.start) {
      case StartPolicy::earliest:
        r.position = StreamId::min();
        break;
      case StartPolicy::latest:
        r.position = in.stream.last_generated;
        break;
      case StartPolicy::fail:
        return errc::no_valid_checkpoint;
    }
  }

  // Entries above the position that were deleted before this consumer
  // handled them: a gap. It is reported, then consumption goes on.
  if (best) {
    if (const auto lost = entries_lost(r.position, best->entries_seen, in.stream); lost.entries) r.gap = lost.entries;
  }
  return r;
}

std::uint64_t entries_seen_at(const ResumeReport& r) {
  if (const auto* winner = r.winner()) return winner->checkpoint->entries_seen + r.gap.value_or(0);
  if (r.position == r.stream.last_generated) return r.stream.entries_added;
  // From the first entry: everything deleted before it counts as seen.
  return r.stream.entries_added >= r.stream.length ? r.stream.entries_added - r.stream.length : 0;
}

}  // namespace streamckpt::detail
