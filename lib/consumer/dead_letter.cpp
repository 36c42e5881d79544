// Group mode: entries handed out again and again without being handled go to
// a dead-letter stream.
#include "consumer/consumer_impl.hpp"
#include "redis/checkpoint_store.hpp"

#include <boost/asio/use_awaitable.hpp>

#include <fmt/format.h>

namespace streamckpt {

namespace asio = boost::asio;
using boost::system::error_code;

std::string Consumer::Impl::dead_letter_stream() const {
  return opt.dead_letter.empty() ? opt.key.stream + ":dead" : opt.dead_letter;
}

void Consumer::Impl::redeliver(std::vector<Event> events, Batch& batch) {
  if (opt.max_deliveries == 0) {
    for (auto& e : events) hand_out_pending(std::move(e), batch);
    return;
  }
  for (auto& e : events) {
    Batch own;
    count_at_hand_out.insert(e.id);
    hand_out_pending(std::move(e), own);
    ready.push_back(std::move(own));
    ++metrics.events;
  }
  ready_signal.notify();
}

asio::awaitable<bool> Consumer::Impl::give_up(const Event& event) {
  auto self = shared_from_this();
  // What was acked before is durable first: a handler that crashes on this
  // entry then costs the other entries no delivery, and the count says how
  // often this one was tried.
  while (!stopping && !commits.idle()) co_await durable_signal.wait();
  // Counted before the application has it: a handler that crashes the
  // process must not keep its entry from ever reaching the limit. A count
  // that cannot be had hands the entry out: never lose it.
  const auto id = event.id.to_string();
  const auto key = redis::deliveries_key(opt.key);
  if (!cmds->is_open() && co_await cmds->connect(nullptr)) co_return false;
  auto count = co_await cmds->exec_one(redis::command("HINCRBY", key, id, "1"));
  if (!count || count->type != redis::Value::Type::integer) co_return false;
  // The first delivery was the read that put it in a pending list.
  const auto deliveries = 1 + static_cast<std::uint64_t>(count->integer);
  if (deliveries <= opt.max_deliveries) co_return false;

  const auto reason = fmt::format("handed out {} times without being handled", opt.max_deliveries);
  auto copy = redis::command("XADD", dead_letter_stream(), "*", "origin-stream", opt.key.stream, "origin-id", id,
                             "origin-group", opt.key.group, "reason", reason);
  for (const auto& [field, value] : event.fields) {
    copy.push_back(field);
    copy.push_back(value);
  }
  auto copied = co_await cmds->exec_one(std::move(copy));
  if (!copied || copied->is_error()) {
    log(fmt::format("cannot copy entry {} to the dead-letter stream '{}' ({}); handing it out", id,
                    dead_letter_stream(), copied ? copied->str : copied.error().message()));
    co_return false;
  }
  ++metrics.dead_lettered;
  --metrics.events;  // counted as read, and never handed to the application
  log(fmt::format("entry {} was {}: copied to '{}' as {}", id, reason, dead_letter_stream(), copied->str));
  // Given up is its handling: acked as any, XACKed once durable (a crash
  // before that copies it again, never drops it); the count goes with the
  // XACK.
  ack(event, nullptr, std::nullopt);
  co_return true;
}

}  // namespace streamckpt
