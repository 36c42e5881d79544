#include "consumer/resume.hpp"

#include "consumer/gap.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace streamckpt::detail {
namespace {

// A copy that claims more of the stream than the stream has cannot be
// trusted: its ID is beyond the end, it had seen more entries than were ever
// added (a failover to a replica that lagged, once new entries passed the
// copy's ID), or it names an entry the stream never had nor deleted.
// Returns whether it did (the copy is then invalid).
bool check_against_stream(CheckpointCopy& copy, const ResumeInputs& in, ResumeReport& r) {
  if (!copy.valid()) return false;
  const auto& c = *copy.checkpoint;
  const auto& stream = in.stream;
  std::string why;
  if (c.id > stream.last_generated) {
    why = fmt::format("checkpoint {} is beyond the stream's last-generated-id {} (the stream went backwards)",
                      c.id.to_string(), stream.last_generated.to_string());
  } else if (stream.counts_known && c.entries_seen > stream.entries_added) {
    const auto gone = c.entries_seen - stream.entries_added;
    r.regressed_entries = std::max(r.regressed_entries.value_or(0), gone);
    why = fmt::format(
        "checkpoint {} had seen {} entries of the stream, which has had {} added (the stream went backwards: at least "
        "{} entries are gone)",
        c.id.to_string(), c.entries_seen, stream.entries_added, gone);
  } else if (std::find(in.absent_ids.begin(), in.absent_ids.end(), c.id) != in.absent_ids.end()) {
    why = fmt::format(
        "checkpoint {} names an entry the stream does not have and never deleted (the stream went "
        "backwards)",
        c.id.to_string());
  }
  if (why.empty()) return false;
  r.regressed = true;
  if (!r.regressed_from || r.regressed_from->rank() < c.rank()) r.regressed_from = c;
  copy = CheckpointCopy::invalid(std::move(why));
  return true;
}

}  // namespace

std::vector<StreamId> ids_to_look_up(const ResumeInputs& in) {
  std::vector<StreamId> ids;
  const auto& s = in.stream;
  if (!s.counts_known || !s.first_entry) return ids;
  for (const auto* copy : {&in.local, &in.redis}) {
    if (!copy->valid()) continue;
    const auto id = copy->checkpoint->id;
    if (id >= *s.first_entry && id <= s.last_generated && id > s.max_deleted &&
        std::find(ids.begin(), ids.end(), id) == ids.end())
      ids.push_back(id);
  }
  return ids;
}

Result<ResumeReport> decide_resume(ResumeInputs in, std::string* why) {
  ResumeReport r;
  r.stream = in.stream;
  const bool local_behind = check_against_stream(in.local, in, r);
  check_against_stream(in.redis, in, r);
  r.local = std::move(in.local);
  r.redis = std::move(in.redis);
  if (r.regressed && in.on_regressed == RegressedPolicy::fail) {
    if (why)
      *why = fmt::format("the {} copy is not valid: {} and --on-regressed is fail; nothing was changed",
                         local_behind ? "local" : "Redis", local_behind ? r.local.reason : r.redis.reason);
    return errc::stream_regressed;
  }

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
        break;  // refused above
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
        if (why) *why = "no valid checkpoint and --start is fail";
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
