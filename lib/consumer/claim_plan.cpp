#include "consumer/claim_plan.hpp"

#include <algorithm>
#include <charconv>

namespace streamckpt::detail {

std::optional<std::vector<PendingEntry>> parse_pending(const redis::Value& reply) {
  if (!reply.is_array()) return std::nullopt;
  std::vector<PendingEntry> out;
  for (const auto& e : reply.elements) {
    if (!e.is_array() || e.elements.size() != 4 || !e.elements[0].is_string() || !e.elements[1].is_string())
      return std::nullopt;
    const auto id = StreamId::parse(e.elements[0].str);
    if (!id) return std::nullopt;
    out.push_back({*id, e.elements[1].str});
  }
  return out;
}

ClaimPlan plan_claims(const std::vector<PendingEntry>& pending,
                      const std::map<std::string, std::optional<std::vector<StreamId>>>& handled,
                      const std::string& me) {
  ClaimPlan plan;
  for (const auto& p : pending) {
    if (p.consumer == me) continue;
    const auto it = handled.find(p.consumer);
    const bool done = it != handled.end() && it->second &&
                      std::find(it->second->begin(), it->second->end(), p.id) != it->second->end();
    (done ? plan.xack : plan.claim).push_back(p.id);
  }
  return plan;
}

}  // namespace streamckpt::detail
