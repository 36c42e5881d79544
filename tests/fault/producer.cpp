#include "producer.hpp"

#include "redis_server.hpp"

namespace streamckpt::test {

Producer::Producer(int port, std::string stream, int first, int count, int batch, std::chrono::milliseconds pause) {
  thread_ = std::thread([this, port, stream = std::move(stream), first, count, batch, pause] {
    try {
      Client client(port);
      for (int n = first; n < first + count; n += batch) {
        const auto ids = client.produce(stream, n, std::min(batch, first + count - n));
        ids_.insert(ids_.end(), ids.begin(), ids.end());
        produced_ += static_cast<int>(ids.size());
        std::this_thread::sleep_for(pause);
      }
    } catch (...) {
      error_ = std::current_exception();
    }
  });
}

Producer::~Producer() {
  if (thread_.joinable()) thread_.join();
}

std::vector<std::string> Producer::join() {
  if (thread_.joinable()) thread_.join();
  if (error_) std::rethrow_exception(error_);
  return ids_;
}

}  // namespace streamckpt::test
