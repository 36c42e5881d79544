#include "metrics_http.hpp"

#include "args.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <fmt/format.h>

#include <charconv>
#include <chrono>

namespace streamckpt::cli {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

// A request's head beyond this is refused: a scrape sends a few hundred bytes.
constexpr std::size_t k_max_request_bytes = 8192;
// A client that sends nothing for this long is dropped.
constexpr std::chrono::seconds k_request_timeout{10};

std::string response(const char* status, const char* type, const std::string& body) {
  return fmt::format("HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}", status,
                     type, body.size(), body);
}

}  // namespace

tcp::endpoint parse_listen_address(const std::string& text) {
  const auto bad = [&] {
    return UsageError(
        fmt::format("--metrics-listen must be HOST:PORT, HOST an IP address and PORT 0 to 65535 (127.0.0.1:9464, "
                    "[::1]:9464), not '{}'",
                    text));
  };
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) throw bad();
  std::string host = text.substr(0, colon);
  const std::string port_text = text.substr(colon + 1);
  if (host.front() == '[') {
    if (host.back() != ']') throw bad();
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string::npos) {
    throw bad();  // IPv6 goes in brackets
  }
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc{} || end != port_text.data() + port_text.size() || port > 65535) throw bad();
  boost::system::error_code address_ec;
  const auto address = asio::ip::make_address(host, address_ec);
  if (address_ec) throw bad();
  return {address, static_cast<unsigned short>(port)};
}

struct MetricsServer::State : std::enable_shared_from_this<State> {
  State(asio::io_context& io, std::function<std::string()> r) : acceptor(io), render(std::move(r)) {}

  asio::awaitable<void> accept_loop() {
    auto self = shared_from_this();
    for (;;) {
      boost::system::error_code ec;
      auto socket = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      if (ec) {
        // A client that went away before it was accepted, or no descriptor
        // left: try again shortly, without spinning.
        asio::steady_timer pause(acceptor.get_executor(), std::chrono::milliseconds(100));
        co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (!acceptor.is_open()) co_return;
        continue;
      }
      asio::co_spawn(acceptor.get_executor(), serve(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> serve(tcp::socket socket) {
    auto self = shared_from_this();
    asio::steady_timer deadline(socket.get_executor());
    deadline.expires_after(k_request_timeout);
    deadline.async_wait([&socket](boost::system::error_code ec) {
      if (!ec) socket.close();
    });
    std::string request;
    boost::system::error_code ec;
    co_await asio::async_read_until(socket, asio::dynamic_buffer(request, k_max_request_bytes), "\r\n\r\n",
                                    asio::redirect_error(asio::use_awaitable, ec));
    std::string reply;
    if (ec == asio::error::not_found) {
      reply = response("431 Request Header Fields Too Large", "text/plain", "request too large\n");
    } else if (ec) {
      deadline.cancel();
      co_return;
    } else {
      const auto line = request.substr(0, request.find("\r\n"));
      const auto first_space = line.find(' ');
      const auto method = line.substr(0, first_space);
      const auto target = first_space == std::string::npos
                              ? std::string{}
                              : line.substr(first_space + 1, line.find(' ', first_space + 1) - first_space - 1);
      if (method != "GET" && method != "HEAD")
        reply = response("405 Method Not Allowed", "text/plain", "only GET\n");
      else if (target != "/metrics" && target.rfind("/metrics?", 0) != 0)
        reply = response("404 Not Found", "text/plain", "the metrics are at /metrics\n");
      else
        reply = response("200 OK", "text/plain; version=0.0.4; charset=utf-8", render());
      if (method == "HEAD") reply = reply.substr(0, reply.find("\r\n\r\n") + 4);
    }
    co_await asio::async_write(socket, asio::buffer(reply), asio::redirect_error(asio::use_awaitable, ec));
    socket.shutdown(tcp::socket::shutdown_send, ec);
    deadline.cancel();
  }

  tcp::acceptor acceptor;
  std::function<std::string()> render;
};

MetricsServer::MetricsServer(asio::io_context& io, std::function<std::string()> render)
    : state_(std::make_shared<State>(io, std::move(render))) {}

MetricsServer::~MetricsServer() { close(); }

std::string MetricsServer::listen(const tcp::endpoint& endpoint) {
  boost::system::error_code ec;
  auto& a = state_->acceptor;
  const auto where = [&] {
    return endpoint.address().is_v6() ? fmt::format("[{}]:{}", endpoint.address().to_string(), endpoint.port())
                                      : fmt::format("{}:{}", endpoint.address().to_string(), endpoint.port());
  };
  if (a.open(endpoint.protocol(), ec); ec) return fmt::format("cannot listen on {}: {}", where(), ec.message());
  // A restarted consumer can take its port again at once.
  a.set_option(tcp::acceptor::reuse_address(true), ec);
  if (a.bind(endpoint, ec); ec) {
    a.close();
    return fmt::format("cannot listen on {}: {}", where(), ec.message());
  }
  if (a.listen(asio::socket_base::max_listen_connections, ec); ec) {
    a.close();
    return fmt::format("cannot listen on {}: {}", where(), ec.message());
  }
  asio::co_spawn(a.get_executor(), state_->accept_loop(), asio::detached);
  return {};
}

tcp::endpoint MetricsServer::local_endpoint() const {
  boost::system::error_code ec;
  return state_->acceptor.local_endpoint(ec);
}

void MetricsServer::close() {
  boost::system::error_code ec;
  state_->acceptor.close(ec);
}

}  // namespace streamckpt::cli
