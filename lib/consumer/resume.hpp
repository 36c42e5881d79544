// The start-up decision (sans-io): given both copies and the stream's state,
// where to resume and why.
#pragma once

#include <streamckpt/error.hpp>
#include <streamckpt/options.hpp>
#include <streamckpt/report.hpp>

namespace streamckpt::detail {

struct ResumeInputs {
  CheckpointCopy local;
  CheckpointCopy redis;
  StreamState stream;
  StartPolicy start = StartPolicy::earliest;
  RegressedPolicy on_regressed = RegressedPolicy::first;
};

// A copy beyond the stream's last-generated-id is marked invalid (the stream
// went backwards); the higher remaining valid copy wins — higher epoch
// first, then higher ID; the local one on a tie —; with none, the policies
// decide. Fails with errc::no_valid_checkpoint
// or errc::stream_regressed when the policy is `fail`.
[[nodiscard]] Result<ResumeReport> decide_resume(ResumeInputs in);

// entries_seen for the resume position: what the winning copy says, or what
// the stream says when a policy chose the position.
std::uint64_t entries_seen_at(const ResumeReport& report);

}  // namespace streamckpt::detail
