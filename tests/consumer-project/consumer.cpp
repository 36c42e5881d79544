// consumer REDIS_URL DATA_DIR NAME COUNT: prints the IDs of the next COUNT
// entries of the stream 'orders' (plain mode, consumer NAME), then stops.
#include <streamckpt/consumer.hpp>

#include <boost/asio.hpp>

#include <exception>
#include <iostream>
#include <string>

namespace asio = boost::asio;

int main(int argc, char** argv) {
  if (argc != 5) {
    std::cerr << "usage: consumer REDIS_URL DATA_DIR NAME COUNT\n";
    return 2;
  }
  const auto count = std::stoul(argv[4]);
  asio::io_context io;
  streamckpt::ConsumerOptions options;
  options.redis_url = argv[1];
  options.key = {.stream = "orders", .group = "", .consumer = argv[3]};
  options.data_dir = argv[2];
  streamckpt::Consumer consumer(io.get_executor(), options);

  int status = 1;
  auto run = [&]() -> asio::awaitable<void> {
    constexpr auto tuple = asio::as_tuple(asio::use_awaitable);
    auto [ec, report] = co_await consumer.async_start(tuple);
    std::size_t handled = 0;
    while (!ec && handled < count) {
      auto [next_ec, batch] = co_await consumer.async_next(tuple);
      ec = next_ec;
      for (const auto& event : batch) {
        if (handled == count) break;  // the rest stays above the checkpoint
        std::cout << event.id.to_string() << '\n';
        if (auto refused = consumer.ack(event)) std::cerr << "ack refused: " << refused.message() << '\n';
        ++handled;
      }
    }
    auto [stop_ec] = co_await consumer.async_stop(tuple);
    if (ec || stop_ec)
      std::cerr << "consumer: " << consumer.error_detail() << '\n';
    else
      status = 0;
  };
  asio::co_spawn(io, run, [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  io.run();
  return status;
}
