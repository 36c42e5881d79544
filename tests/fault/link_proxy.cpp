#include "link_proxy.hpp"

#include <fcntl.h>
#include <sys/socket.h>

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <deque>
#include <future>
#include <map>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

namespace streamckpt::test {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t k_sample_bytes = 64 * 1024;

constexpr std::size_t index_of(Direction d) { return d == Direction::client_to_server ? 0 : 1; }

// Bytes read from one side, waiting until they are due at the other.
struct Chunk {
  Clock::time_point due;
  std::string data;
  bool cut_after = false;  // the data limit ends here
};

// One direction of one connection.
struct Pipe {
  explicit Pipe(const asio::any_io_executor& ex) : timer(ex) {}
  std::deque<Chunk> queue;
  bool writing = false;
  bool swallowing = false;  // lost bytes: a black hole until it closes
  bool limit_reached = false;
  std::uint64_t taken = 0;  // bytes accepted for forwarding
  Clock::time_point last_due{};
  asio::steady_timer timer;
};

struct Link {
  Link(tcp::socket c, const asio::any_io_executor& ex) : client(std::move(c)), server(ex), pipes{Pipe(ex), Pipe(ex)} {}
  tcp::socket client;
  tcp::socket server;
  std::array<Pipe, 2> pipes;  // indexed by index_of(Direction)
  std::uint64_t id = 0;       // the accept number, from 1
  bool closed = false;
  std::string sent;  // the first k_sample_bytes the client sent, to tell connections apart

  tcp::socket& source(Direction d) { return d == Direction::client_to_server ? client : server; }
  tcp::socket& sink(Direction d) { return d == Direction::client_to_server ? server : client; }
};

// Child processes (the CLI) must not inherit the proxy's sockets: a listening
// socket held by a child would keep accepting into its backlog after the
// proxy closed it.
void no_inherit(int fd) { ::fcntl(fd, F_SETFD, ::fcntl(fd, F_GETFD) | FD_CLOEXEC); }

void abort_socket(tcp::socket& s) {
  error_code ignored;
  s.set_option(tcp::socket::linger(true, 0), ignored);
  s.close(ignored);
}

}  // namespace

struct LinkProxy::State {
  State(int target_port, std::uint64_t seed)
      : work(asio::make_work_guard(io)),
        acceptor(io),
        target(asio::ip::make_address_v4("127.0.0.1"), static_cast<unsigned short>(target_port)),
        rng(seed) {}

  asio::io_context io;  // first: destroyed last
  asio::executor_work_guard<asio::io_context::executor_type> work;
  tcp::acceptor acceptor;
  tcp::endpoint target;
  unsigned short port = 0;
  bool listening = false;
  std::uint64_t accept_generation = 0;

  std::array<DirectionFaults, 2> faults;
  std::optional<DownMode> down;
  std::map<std::uint64_t, std::shared_ptr<Link>> links;
  std::uint64_t next_id = 1;
  std::mt19937_64 rng;

  std::uint64_t accepted = 0, turned_away = 0, cut = 0;
  std::array<std::uint64_t, 2> forwarded{}, swallowed{};

  std::thread thread;

  // Runs `f` on the proxy's thread and returns its result (or rethrows).
  template <class F>
  auto run(F f) -> decltype(f()) {
    using R = decltype(f());
    std::promise<R> done;
    auto result = done.get_future();
    asio::post(io, [&]() {
      try {
        if constexpr (std::is_void_v<R>) {
          f();
          done.set_value();
        } else {
          done.set_value(f());
        }
      } catch (...) {
        done.set_exception(std::current_exception());
      }
    });
    return result.get();
  }

  // Binds an explicit port (not 0), so that the port stays ours while the
  // acceptor does not listen (see pause()).
  void open_acceptor() {
    for (int attempt = 0; attempt < 20; ++attempt) {
      tcp::acceptor probe(io, tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), 0));
      const auto candidate = probe.local_endpoint().port();
      probe.close();
      error_code ec;
      acceptor.open(tcp::v4());
      acceptor.set_option(tcp::acceptor::reuse_address(true));
      acceptor.bind(tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), candidate), ec);
      if (!ec) {
        no_inherit(acceptor.native_handle());
        port = candidate;
        return;
      }
      acceptor.close();
    }
    throw std::runtime_error("LinkProxy: no free loopback port");
  }

  void listen() {
    acceptor.listen();
    listening = true;
    asio::co_spawn(io, accept_loop(++accept_generation), asio::detached);
  }

  // Stops listening but keeps the port bound: a connect is refused
  // (ECONNREFUSED) and no other process can take the port meanwhile.
  void pause() {
    if (!listening) return;
    listening = false;
    ++accept_generation;
    error_code ignored;
    acceptor.cancel(ignored);
    ::shutdown(acceptor.native_handle(), SHUT_RD);  // Linux: leaves the listening state
  }

  asio::awaitable<void> accept_loop(std::uint64_t generation) {
    for (;;) {
      error_code ec;
      tcp::socket socket = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (generation != accept_generation || !acceptor.is_open()) co_return;
      if (ec) continue;
      no_inherit(socket.native_handle());
      if (down) {
        ++turned_away;
        abort_socket(socket);
        continue;
      }
      ++accepted;
      asio::co_spawn(io, start_link(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> start_link(tcp::socket client) {
    auto link = std::make_shared<Link>(std::move(client), io.get_executor());
    link->id = next_id++;
    links[link->id] = link;
    error_code ec;
    link->server.open(tcp::v4(), ec);
    if (!ec) {
      no_inherit(link->server.native_handle());
      co_await link->server.async_connect(target, asio::redirect_error(asio::use_awaitable, ec));
    }
    if (link->closed) co_return;
    if (ec) {
      close(*link, true, true);
      co_return;
    }
    link->client.set_option(tcp::no_delay(true), ec);
    link->server.set_option(tcp::no_delay(true), ec);
    asio::co_spawn(io, pump(link, Direction::client_to_server), asio::detached);
    asio::co_spawn(io, pump(link, Direction::server_to_client), asio::detached);
  }

  // Reads one side and queues what the faults let through for the other.
  asio::awaitable<void> pump(std::shared_ptr<Link> link, Direction d) {
    auto& pipe = link->pipes[index_of(d)];
    std::vector<char> buffer(16 * 1024);
    for (;;) {
      error_code ec;
      const auto n =
          co_await link->source(d).async_read_some(asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, ec));
      if (link->closed) co_return;
      if (ec) {
        // EOF on one side closes both (queued bytes are dropped); a reset is
        // passed on as a reset.
        const bool reset = ec != asio::error::eof;
        close(*link, reset && d == Direction::server_to_client, reset && d == Direction::client_to_server);
        co_return;
      }
      if (d == Direction::client_to_server && link->sent.size() < k_sample_bytes)
        link->sent.append(buffer.data(), std::min(n, k_sample_bytes - link->sent.size()));
      const auto& f = faults[index_of(d)];
      if (pipe.limit_reached) continue;
      if (pipe.swallowing || f.blackhole) {
        pipe.swallowing = true;
        swallowed[index_of(d)] += n;
        continue;
      }
      Chunk chunk;
      chunk.data.assign(buffer.data(), n);
      if (f.limit_bytes) {
        const auto left = *f.limit_bytes > pipe.taken ? *f.limit_bytes - pipe.taken : 0;
        if (chunk.data.size() >= left) {
          chunk.data.resize(left);
          chunk.cut_after = true;
          pipe.limit_reached = true;
        }
      }
      pipe.taken += chunk.data.size();
      auto delay = f.latency.count();
      if (f.jitter.count() > 0) {
        std::uniform_int_distribution<long long> jitter(-f.jitter.count(), f.jitter.count());
        delay += jitter(rng);
      }
      chunk.due = std::max(Clock::now() + std::chrono::milliseconds(std::max<long long>(delay, 0)), pipe.last_due);
      pipe.last_due = chunk.due;
      pipe.queue.push_back(std::move(chunk));
      if (!pipe.writing) {
        pipe.writing = true;
        asio::co_spawn(io, drain(link, d), asio::detached);
      }
    }
  }

  // Writes the queued chunks when they are due, sliced when asked to.
  asio::awaitable<void> drain(std::shared_ptr<Link> link, Direction d) {
    auto& pipe = link->pipes[index_of(d)];
    while (!link->closed && !pipe.queue.empty()) {
      if (pipe.queue.front().due > Clock::now()) {
        pipe.timer.expires_at(pipe.queue.front().due);
        error_code ignored;
        co_await pipe.timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
        continue;
      }
      Chunk chunk = std::move(pipe.queue.front());
      pipe.queue.pop_front();
      std::size_t offset = 0;
      while (offset < chunk.data.size()) {
        std::size_t take = chunk.data.size() - offset;
        if (const auto slice = faults[index_of(d)].slice_max) {
          std::uniform_int_distribution<std::size_t> size(1, slice);
          take = std::min(take, size(rng));
        }
        error_code ec;
        co_await asio::async_write(link->sink(d), asio::buffer(chunk.data.data() + offset, take),
                                   asio::redirect_error(asio::use_awaitable, ec));
        if (link->closed) co_return;
        if (ec) {
          close(*link, true, true);
          co_return;
        }
        offset += take;
        forwarded[index_of(d)] += take;
        // Yield between slices: each leaves as its own segment (TCP_NODELAY),
        // and the peer often reads them apart.
        if (faults[index_of(d)].slice_max && offset < chunk.data.size()) co_await asio::post(io, asio::use_awaitable);
        if (link->closed) co_return;
      }
      if (chunk.cut_after) {
        ++cut;
        close(*link, true, true);
        co_return;
      }
    }
    pipe.writing = false;
  }

  void close(Link& link, bool rst_client, bool rst_server) {
    if (link.closed) return;
    link.closed = true;
    error_code ignored;
    if (rst_client)
      abort_socket(link.client);
    else
      link.client.close(ignored);
    if (rst_server)
      abort_socket(link.server);
    else
      link.server.close(ignored);
    for (auto& p : link.pipes) p.timer.cancel();
    links.erase(link.id);
  }

  void cut_all(bool rst_client, bool rst_server) {
    auto all = links;  // close() erases from links
    for (auto& [id, link] : all) {
      ++cut;
      close(*link, rst_client, rst_server);
    }
  }

  void stop_listening() {
    ++accept_generation;
    listening = false;
    error_code ignored;
    acceptor.close(ignored);
  }
};

LinkProxy::LinkProxy(int target_port, std::uint64_t seed) : state_(std::make_unique<State>(target_port, seed)) {
  state_->open_acceptor();
  state_->listen();
  port_ = state_->port;
  state_->thread = std::thread([s = state_.get()] { s->io.run(); });
}

LinkProxy::~LinkProxy() {
  state_->run([s = state_.get()] {
    s->stop_listening();
    s->cut_all(true, true);
  });
  state_->work.reset();
  state_->io.stop();
  state_->thread.join();
}

std::string LinkProxy::url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

void LinkProxy::set(Direction direction, const DirectionFaults& faults) {
  state_->run([s = state_.get(), direction, faults] { s->faults[index_of(direction)] = faults; });
}

void LinkProxy::set_both(const DirectionFaults& faults) {
  set(Direction::client_to_server, faults);
  set(Direction::server_to_client, faults);
}

void LinkProxy::reset() {
  state_->run([s = state_.get()] { s->cut_all(true, true); });
}

void LinkProxy::reset(Direction toward_receiver_of) {
  const bool rst_server = toward_receiver_of == Direction::client_to_server;
  state_->run([s = state_.get(), rst_server] { s->cut_all(!rst_server, rst_server); });
}

void LinkProxy::down(DownMode mode, bool drop_open) {
  state_->run([s = state_.get(), mode, drop_open] {
    s->down = mode;
    if (mode == DownMode::refuse)
      s->pause();
    else if (!s->listening)
      s->listen();
    if (drop_open) s->cut_all(true, true);
  });
}

bool LinkProxy::reset_connection(std::uint64_t id) {
  return state_->run([s = state_.get(), id] {
    const auto it = s->links.find(id);
    if (it == s->links.end()) return false;
    const auto link = it->second;
    ++s->cut;
    s->close(*link, true, true);
    return true;
  });
}

std::vector<std::uint64_t> LinkProxy::open_connection_ids() const {
  return state_->run([s = state_.get()] {
    std::vector<std::uint64_t> ids;
    for (const auto& [id, link] : s->links) ids.push_back(id);
    return ids;
  });
}

std::vector<std::uint64_t> LinkProxy::connections_that_sent(const std::string& needle) const {
  return state_->run([s = state_.get(), needle] {
    std::vector<std::uint64_t> ids;
    for (const auto& [id, link] : s->links)
      if (link->sent.find(needle) != std::string::npos) ids.push_back(id);
    return ids;
  });
}

void LinkProxy::clear() {
  state_->run([s = state_.get()] {
    s->faults = {};
    s->down.reset();
    if (!s->listening) s->listen();
  });
}

std::uint64_t LinkProxy::accepted() const {
  return state_->run([s = state_.get()] { return s->accepted; });
}

std::uint64_t LinkProxy::turned_away() const {
  return state_->run([s = state_.get()] { return s->turned_away; });
}

std::uint64_t LinkProxy::cut() const {
  return state_->run([s = state_.get()] { return s->cut; });
}

std::size_t LinkProxy::open_connections() const {
  return state_->run([s = state_.get()] { return s->links.size(); });
}

std::uint64_t LinkProxy::forwarded(Direction direction) const {
  return state_->run([s = state_.get(), direction] { return s->forwarded[index_of(direction)]; });
}

std::uint64_t LinkProxy::swallowed(Direction direction) const {
  return state_->run([s = state_.get(), direction] { return s->swallowed[index_of(direction)]; });
}

}  // namespace streamckpt::test
