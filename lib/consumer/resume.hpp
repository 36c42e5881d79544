// The start-up decision (sans-io): given both copies and the stream's state,
// where to resume and why.
#pragma once

#include <streamckpt/error.hpp>
#include <streamckpt/options.hpp>
#include <streamckpt/report.hpp>

#include <string>
#include <vector>

namespace streamckpt::detail {

struct ResumeInputs {
  CheckpointCopy local;
  CheckpointCopy redis;
  StreamState stream;
  // The IDs of ids_to_look_up() that the stream does not have (XRANGE id id
  // came back empty).
  std::vector<StreamId> absent_ids;
  StartPolicy start = StartPolicy::earliest;
  RegressedPolicy on_regressed = RegressedPolicy::first;
};

// The valid copies' IDs whose presence in the stream tells whether it went
// backwards: each within the stream's entries (not trimmed) and above every
// XDEL, so that an entry the stream lacks there was never in it. With Redis
// before 7 (no max-deleted-entry-id), none.
std::vector<StreamId> ids_to_look_up(const ResumeInputs& in);

// A copy the stream went back behind (see ResumeReport::regressed) is marked
// invalid; the higher remaining valid copy wins — higher epoch first, then
// higher ID; the local one on a tie —; with none, the policies decide. Fails
// with errc::no_valid_checkpoint when no copy is valid and --start is fail,
// and with errc::stream_regressed whenever the stream went backwards and
// --on-regressed is fail (whether or not another copy is valid: nothing may
// change before the operator looks). `why`, when given, receives a sentence
// for the failure.
[[nodiscard]] Result<ResumeReport> decide_resume(ResumeInputs in, std::string* why = nullptr);

// entries_seen for the resume position: what the winning copy says, or what
// the stream says when a policy chose the position.
std::uint64_t entries_seen_at(const ResumeReport& report);

}  // namespace streamckpt::detail
