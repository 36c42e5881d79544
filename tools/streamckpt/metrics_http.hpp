// --metrics-listen: a small HTTP/1.1 server for Prometheus scrapes, on the
// consumer's own io_context (no thread of its own). GET /metrics answers with
// the exposition; anything else with 404 or 405. One request per connection.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <functional>
#include <memory>
#include <string>

namespace streamckpt::cli {

// "HOST:PORT" with HOST an IPv4 address or a bracketed IPv6 one, PORT 0 to
// 65535 (0: any free port). Throws UsageError naming --metrics-listen.
boost::asio::ip::tcp::endpoint parse_listen_address(const std::string& text);

class MetricsServer {
 public:
  // `render` is called on the io_context's thread for each scrape.
  MetricsServer(boost::asio::io_context& io, std::function<std::string()> render);
  ~MetricsServer();

  // Binds and listens; "" on success, else why not ("cannot listen on …").
  std::string listen(const boost::asio::ip::tcp::endpoint& endpoint);
  // Where it listens (the port chosen for port 0).
  boost::asio::ip::tcp::endpoint local_endpoint() const;
  void close();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace streamckpt::cli
