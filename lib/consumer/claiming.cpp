// Group mode: taking over the pending entries of members that are gone.
#include "consumer/claim_plan.hpp"
#include "consumer/consumer_impl.hpp"
#include "consumer/stream_reply.hpp"
#include "redis/checkpoint_store.hpp"

#include <boost/asio/use_awaitable.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace streamckpt {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

// Removes the members, other than ARGV[2], idle longer than ARGV[3] ms with
// nothing pending. In one script: a member that reads between a look and a
// removal would lose the entries it was just given (DELCONSUMER drops them).
constexpr std::string_view k_remove_idle_script = R"lua(
local removed = 0
for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local f = {}
  for i = 1, #c, 2 do f[c[i]] = c[i + 1] end
  if f['name'] ~= ARGV[2] and f['pending'] == 0 and f['idle'] > tonumber(ARGV[3]) then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], f['name'])
    removed = removed + 1
  end
end
return removed
)lua";

}  // namespace

void Consumer::Impl::hand_out_pending(Event&& event, Batch& batch) {
  const auto delivered = tracker.last_delivered();
  if (delivered && event.id <= *delivered)
    pending.hand_out_below(event.id);  // acked on its own: it never moves the watermark
  else
    tracker.deliver(event.id);
  batch.push_back(std::move(event));
}

asio::awaitable<error_code> Consumer::Impl::claim_once() {
  auto self = shared_from_this();
  next_claim = Clock::now() + claim_interval();
  const auto idle = std::to_string(opt.claim_idle.count());
  auto listed = co_await reads->exec_one(
      redis::command("XPENDING", opt.key.stream, opt.key.group, "IDLE", idle, "-", "+", std::to_string(opt.batch)));
  if (!listed) co_return listed.error();
  if (listed->is_error()) co_return error_code{};  // NOGROUP: the read that follows handles it
  const auto pending = detail::parse_pending(*listed);
  if (!pending) co_return make_error_code(errc::protocol_error);

  // What each member recorded as handled, from its Redis copy.
  std::map<std::string, std::optional<std::vector<StreamId>>> handled;
  for (const auto& p : *pending) {
    if (p.consumer == opt.key.consumer || handled.count(p.consumer)) continue;
    const CheckpointKey member{opt.key.stream, opt.key.group, p.consumer};
    auto field = co_await reads->exec_one(redis::command("HGET", redis::checkpoint_hash_key(member), "unxacked"));
    if (!field) co_return field.error();
    handled[p.consumer] = field->is_string() ? redis::parse_id_list(field->str) : std::nullopt;
  }
  const auto plan = detail::plan_claims(*pending, handled, opt.key.consumer);

  if (!plan.xack.empty()) {
    auto xack = redis::command("XACK", opt.key.stream, opt.key.group);
    for (const auto id : plan.xack) xack.push_back(id.to_string());
    auto done = co_await reads->exec_one(std::move(xack));
    if (!done) co_return done.error();
    if (done->type == redis::Value::Type::integer && done->integer > 0) {
      metrics.claim_xacks += static_cast<std::uint64_t>(done->integer);
      log(fmt::format("XACKed {} pending entries of members idle for over {} ms, which had handled them", done->integer,
                      idle));
    }
  }
  if (!plan.claim.empty()) {
    // With the idle time again: of two members claiming at once, the first
    // resets it, and the other gets nothing.
    auto claim = redis::command("XCLAIM", opt.key.stream, opt.key.group, opt.key.consumer, idle);
    for (const auto id : plan.claim) claim.push_back(id.to_string());
    auto claimed = co_await reads->exec_one(std::move(claim));
    if (!claimed) co_return claimed.error();
    if (!claimed->is_error()) {
      auto entries = detail::parse_entries(std::move(*claimed));
      if (!entries) co_return entries.error();
      std::vector<Event> again;
      for (auto& e : *entries)
        if (!e.deleted) again.push_back(std::move(e.event));  // XCLAIM drops a deleted one itself
      Batch batch;
      const auto claimed_now = again.size();
      redeliver(std::move(again), batch);  // into `batch`, or with max_deliveries each in its own
      if (claimed_now > 0) {
        log(fmt::format("claimed {} pending entries of members idle for over {} ms", claimed_now, idle));
        metrics.claimed += claimed_now;
      }
      if (!batch.empty()) {
        metrics.events += batch.size();
        ready.push_back(std::move(batch));
        ready_signal.notify();
      }
    }
  }
  if (pending->size() >= opt.batch) next_claim = Clock::now();  // a full page: more may wait

  auto removed = co_await reads->exec_one(redis::command("EVAL", std::string(k_remove_idle_script), "1", opt.key.stream,
                                                         opt.key.group, opt.key.consumer, idle));
  if (!removed) co_return removed.error();
  if (removed->type == redis::Value::Type::integer && removed->integer > 0) {
    metrics.members_removed += static_cast<std::uint64_t>(removed->integer);
    log(fmt::format("removed {} members of group '{}' idle for over {} ms with nothing pending", removed->integer,
                    opt.key.group, idle));
  }
  co_return error_code{};
}

std::chrono::milliseconds Consumer::Impl::claim_interval() const {
  return std::max(opt.claim_idle / 4, std::chrono::milliseconds{100});
}

}  // namespace streamckpt
