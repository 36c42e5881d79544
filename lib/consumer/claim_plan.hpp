// Taking over a dead member's pending entries (sans-io): which to XACK, as
// handled by their member, and which to claim and hand out.
#pragma once

#include <streamckpt/stream_id.hpp>

#include "redis/resp.hpp"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace streamckpt::detail {

// One entry of `XPENDING <stream> <group> IDLE <ms> - + <count>`.
struct PendingEntry {
  StreamId id;
  std::string consumer;
};
[[nodiscard]] std::optional<std::vector<PendingEntry>> parse_pending(const redis::Value& reply);

struct ClaimPlan {
  std::vector<StreamId> xack;   // handled by the member that holds them: only its XACK was lost
  std::vector<StreamId> claim;  // never recorded handled: claimed, and handed out here
};

// `handled` maps each member to the list its Redis copy records as handled
// and not XACKed (nullopt: none could be read, so nothing counts as handled:
// a duplicate rather than a loss). `me`'s own entries are left alone.
ClaimPlan plan_claims(const std::vector<PendingEntry>& pending,
                      const std::map<std::string, std::optional<std::vector<StreamId>>>& handled,
                      const std::string& me);

}  // namespace streamckpt::detail
