// A group member whose handler crashes the process (abort) on one entry: the
// poison the dead-letter test feeds it. It prints the "n" of every entry it
// handles, one per line, acks it, and stops cleanly after an idle read.
// Usage: poison_consumer REDIS_URL DATA_DIR MAX_DELIVERIES POISON_N
#include <streamckpt/consumer.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace asio = boost::asio;

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: poison_consumer REDIS_URL DATA_DIR MAX_DELIVERIES POISON_N\n");
    return 2;
  }
  const std::string poison = argv[4];
  streamckpt::ConsumerOptions options;
  options.redis_url = argv[1];
  options.key = {"orders", "billing", "edge-7"};
  options.data_dir = argv[2];
  options.max_deliveries = std::strtoul(argv[3], nullptr, 10);
  options.block = std::chrono::milliseconds(200);
  options.log = [](std::string_view line) {
    std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
  };
  asio::io_context io;
  streamckpt::Consumer consumer(io.get_executor(), options);
  int status = 0;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        constexpr auto tuple = asio::as_tuple(asio::use_awaitable);
        auto [ec, report] = co_await consumer.async_start(tuple);
        if (ec) {
          std::fprintf(stderr, "start failed: %s\n", consumer.error_detail().c_str());
          status = 1;
          co_return;
        }
        for (;;) {
          auto [next_ec, batch] = co_await consumer.async_next(tuple);
          if (next_ec || batch.empty()) break;  // idle: done
          for (const auto& event : batch) {
            for (const auto& [field, value] : event.fields) {
              if (field != "n") continue;
              if (value == poison) std::abort();  // the handler crashes on it
              std::printf("%s\n", value.c_str());
              std::fflush(stdout);
            }
            if (auto refused = consumer.ack(event))
              std::fprintf(stderr, "ack refused: %s\n", refused.message().c_str());
          }
        }
        co_await consumer.async_stop(tuple);
        std::fprintf(stderr, "%s\n", consumer.metrics().to_json().c_str());
      },
      asio::detached);
  io.run();
  return status;
}
