// One life of the resume measurement: start the Consumer on a data directory
// that holds a checkpoint, report the moment the first event is handed over,
// then keep consuming until the parent SIGKILLs us. Reports:
//   first <monotonic ns>   the first event was handed to the handler
//   first_seq <seq>        its seq
//   h <seq>                the highest seq handled, before its batch is acked
//   ready <seq>            kill_after events acked and durable up to <seq>
#include "child_report.hpp"
#include "engine_options.hpp"
#include "scenarios.hpp"

#include <streamckpt/consumer.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fmt/format.h>

#include <stdexcept>

namespace streamckpt::bench {
namespace {

namespace asio = boost::asio;
constexpr auto k_tuple = asio::as_tuple(asio::use_awaitable);

std::optional<std::uint64_t> seq_of(const Event& e, std::size_t payload_bytes) {
  if (e.fields.size() != 2) return std::nullopt;
  return check_fields(e.fields[0].first, e.fields[0].second, e.fields[1].first, e.fields[1].second, payload_bytes);
}

asio::awaitable<void> resume_life(Consumer& consumer, const ChildArgs& a, const ResultPipe& out, int& status) {
  auto [ec, report] = co_await consumer.async_start(k_tuple);
  if (ec) {
    out.send("error", fmt::format("start failed: {}", report.failure));
    status = 1;
    co_return;
  }
  bool first = true, ready = false;
  std::optional<std::uint64_t> previous;
  std::uint64_t acked = 0;
  for (;;) {
    auto [next_ec, batch] = co_await consumer.async_next(k_tuple);
    if (next_ec) {
      out.send("error", fmt::format("next() failed: {}", next_ec.message()));
      status = 1;
      co_return;
    }
    if (batch.empty()) {  // the stream is exhausted
      if (!ready) out.send("ready", previous.value_or(0));
      ready = true;
      continue;
    }
    if (first) {
      out.send("first", monotonic_ns());
      first = false;
    }
    for (const auto& event : batch) {
      const auto seq = seq_of(event, a.payload_bytes);
      if (!seq) {
        out.send("order_error", fmt::format("entry {} carries no valid seq", event.id.to_string()));
      } else {
        if (!previous)
          out.send("first_seq", *seq);
        else if (*seq != *previous + 1)
          out.send("order_error", fmt::format("seq {} followed seq {}", *seq, *previous));
        previous = seq;
      }
    }
    if (previous) out.send("h", *previous);  // before the acks: an acked event is always reported
    for (const auto& event : batch)
      if (auto refused = consumer.ack(event)) throw std::runtime_error("ack refused: " + refused.message());
    acked += batch.size();
    if (!ready && acked >= a.kill_after) {
      auto [durable_ec] = co_await consumer.async_durable(batch.back().id, k_tuple);
      if (durable_ec) {
        out.send("error", fmt::format("durable() failed: {}", durable_ec.message()));
        status = 1;
        co_return;
      }
      out.send("ready", previous.value_or(0));
      ready = true;
    }
  }
}

}  // namespace

int run_resume_child(const ChildArgs& args, const ResultPipe& out) {
  asio::io_context io(1);
  auto options = engine_options(args, out);
  // A SIGKILLed instance cannot release its lease: wait for it rather than
  // fail, so that the time to resume includes whatever the lease costs.
  options.wait_lease = true;
  Consumer consumer(io.get_executor(), std::move(options));
  int status = 0;
  asio::co_spawn(io, resume_life(consumer, args, out, status), [&](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      out.send("error", ex.what());
    }
    status = 1;
  });
  io.run();
  return status;
}

}  // namespace streamckpt::bench
