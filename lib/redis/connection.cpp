#include "redis/connection.hpp"

#include "redis/cluster.hpp"
#include "redis/multiplexer.hpp"
#include "redis/sentinel.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#ifdef STREAMCKPT_HAVE_TLS
#include <boost/asio/ssl.hpp>
#endif

#include <fmt/format.h>

#include <array>
#include <map>
#include <variant>

namespace streamckpt::redis {

ConnectionOptions ConnectionOptions::of(const ConsumerOptions& options) {
  ConnectionOptions c;
  c.connect_timeout = options.connect_timeout;
  c.command_timeout = options.command_timeout;
  c.tls_ca = options.tls_ca;
  c.tls_cert = options.tls_cert;
  c.tls_key = options.tls_key;
  c.tls_insecure = options.tls_insecure;
  c.slot_key = options.key.stream;
  return c;
}

namespace asio = boost::asio;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;
using namespace asio::experimental::awaitable_operators;

namespace {

// A caller waiting for its request's completion.
struct Request {
  explicit Request(const asio::any_io_executor& ex) : signal(ex, Clock::time_point::max()) {}
  std::vector<Value> replies;
  error_code ec;
  bool done = false;
  asio::steady_timer signal;  // cancelled when done: a one-shot event

  void finish(error_code e) {
    if (done) return;
    ec = e;
    done = true;
    signal.cancel();
  }
};

#ifdef STREAMCKPT_HAVE_TLS
using TlsStream = asio::ssl::stream<asio::ip::tcp::socket>;
#endif

// `text` with every occurrence of `secret` replaced: Redis echoes the
// arguments of a command it does not know, AUTH's password among them.
std::string without_secret(std::string text, const std::string& secret) {
  if (secret.empty()) return text;
  for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 3))
    text.replace(at, secret.size(), "***");
  return text;
}

}  // namespace

struct Connection::State : std::enable_shared_from_this<Connection::State> {
  State(asio::any_io_executor ex, Url u, ConnectionOptions o)
      : executor(std::move(ex)),
        url(std::move(u)),
        options(std::move(o)),
        watchdog(executor),
        connect_done(executor, Clock::time_point::max()) {
    if (url.scheme == Url::Scheme::sentinel) requests.set_dropping_errors({"READONLY"});
    if (url.scheme == Url::Scheme::cluster) requests.set_dropping_errors({"MOVED", "CLUSTERDOWN", "TRYAGAIN"});
  }

  asio::any_io_executor executor;
  Url url;
  ConnectionOptions options;

  // The stream of the current connection; monostate when closed.
  std::variant<std::monostate, asio::ip::tcp::socket, asio::local::stream_protocol::socket
#ifdef STREAMCKPT_HAVE_TLS
               ,
               std::unique_ptr<TlsStream>
#endif
               >
      stream;
#ifdef STREAMCKPT_HAVE_TLS
  std::unique_ptr<asio::ssl::context> tls_context;
#endif

  // Incremented on every connect and every close: a coroutine of an older
  // generation stops touching the state.
  std::uint64_t generation = 0;
  bool open = false;
  std::uint64_t connects = 0;
  // Behind Sentinel: the master of the current link, or of the last one, and
  // the current link's subscription to the Sentinel's switches (closed with
  // the link; its coroutine holds it too).
  std::optional<Url::Address> master;
  std::shared_ptr<asio::ip::tcp::socket> switch_watch;
  // In Cluster: the link to the node an ASK named, while a migration lasts.
  std::shared_ptr<Connection> ask_link;
  Url::Address ask_to;

  // The request FIFO (multiplexer.hpp), and who waits for each request.
  Multiplexer requests;
  std::map<Multiplexer::Id, std::shared_ptr<Request>> waiting;
  bool writing = false;
  asio::steady_timer watchdog;

  bool connecting = false;
  asio::steady_timer connect_done;  // cancelled when a connect finishes
  error_code last_connect_error;
  std::string last_connect_detail;
  // The last reply that said Redis is not ready (says_not_ready), for the
  // reconnect's message.
  std::string not_ready;

  // The server, for messages: the URL, and behind Sentinel the master it
  // named.
  std::string where() const {
    if (!master) return url.redacted();
    if (url.scheme == Url::Scheme::cluster)
      return fmt::format("node {} (the master of slot {} of {})", master->text(), key_slot(options.slot_key),
                         url.redacted());
    if (url.scheme == Url::Scheme::sentinel) return fmt::format("master '{}' at {}", url.master, master->text());
    return url.redacted();
  }

  void fail_all(error_code ec) {
    close_stream();
    complete(requests.fail_all(ec));
  }

  // Runs one of the link's own coroutines (reader, writer, watch). One that
  // throws (an allocation failure while decoding) ends the link as a lost
  // connection does: every request fails with outcome_unknown, and its
  // caller reconnects. Nothing waits on a request the link no longer serves.
  // A newer link (`gen` past) is left alone.
  void spawn_link_task(asio::awaitable<void> task, std::uint64_t gen) {
    asio::co_spawn(executor, std::move(task), [weak = weak_from_this(), gen](const std::exception_ptr& e) {
      if (!e) return;
      if (auto self = weak.lock(); self && self->generation == gen) self->fail_all(errc::outcome_unknown);
    });
  }

  void complete(std::vector<Multiplexer::Completion> done) {
    for (auto& c : done) {
      const auto it = waiting.find(c.id);
      if (it == waiting.end()) continue;
      auto request = std::move(it->second);
      waiting.erase(it);
      request->replies = std::move(c.replies);
      request->finish(c.ec);
    }
  }

  // Ends the current connection's stream and its coroutines.
  void close_stream() {
    ++generation;
    open = false;
    std::visit(
        [](auto& s) {
          using S = std::decay_t<decltype(s)>;
          error_code ignored;
          if constexpr (std::is_same_v<S, asio::ip::tcp::socket> ||
                        std::is_same_v<S, asio::local::stream_protocol::socket>) {
            s.close(ignored);
          }
#ifdef STREAMCKPT_HAVE_TLS
          else if constexpr (std::is_same_v<S, std::unique_ptr<TlsStream>>) {
            if (s) s->lowest_layer().close(ignored);
          }
#endif
        },
        stream);
    if (switch_watch) {
      error_code ignored;
      switch_watch->close(ignored);
      switch_watch.reset();
    }
    if (ask_link) ask_link->close();  // ends a blocking read there too
    ask_link.reset();
    writing = false;
    watchdog.cancel();
  }

  asio::awaitable<std::size_t> read_some(asio::mutable_buffer buffer, error_code& ec) {
    ec = {};
    if (auto* s = std::get_if<asio::ip::tcp::socket>(&stream))
      co_return co_await s->async_read_some(buffer, asio::redirect_error(asio::use_awaitable, ec));
    if (auto* s = std::get_if<asio::local::stream_protocol::socket>(&stream))
      co_return co_await s->async_read_some(buffer, asio::redirect_error(asio::use_awaitable, ec));
#ifdef STREAMCKPT_HAVE_TLS
    if (auto* s = std::get_if<std::unique_ptr<TlsStream>>(&stream))
      co_return co_await (*s)->async_read_some(buffer, asio::redirect_error(asio::use_awaitable, ec));
#endif
    ec = errc::connection_closed;
    co_return 0;
  }

  asio::awaitable<void> write_all(asio::const_buffer buffer, error_code& ec) {
    ec = {};
    if (auto* s = std::get_if<asio::ip::tcp::socket>(&stream))
      co_await asio::async_write(*s, buffer, asio::redirect_error(asio::use_awaitable, ec));
    else if (auto* s = std::get_if<asio::local::stream_protocol::socket>(&stream))
      co_await asio::async_write(*s, buffer, asio::redirect_error(asio::use_awaitable, ec));
#ifdef STREAMCKPT_HAVE_TLS
    else if (auto* s = std::get_if<std::unique_ptr<TlsStream>>(&stream))
      co_await asio::async_write(**s, buffer, asio::redirect_error(asio::use_awaitable, ec));
#endif
    else
      ec = errc::connection_closed;
  }

  static asio::awaitable<void> reader(std::shared_ptr<State> self, std::uint64_t gen) {
    // The decoder copies what is read into its own buffer, so a small chunk
    // costs a few more reads of a large reply, not memory per link (a
    // process may hold hundreds of links). Left uninitialised: never read
    // beyond what arrived.
    constexpr auto k_chunk = std::size_t{16} * 1024;
    const auto buffer = std::make_unique_for_overwrite<char[]>(k_chunk);
    for (;;) {
      error_code ec;
      const auto n = co_await self->read_some(asio::buffer(buffer.get(), k_chunk), ec);
      if (gen != self->generation) co_return;
      if (ec) {
        self->fail_all(errc::outcome_unknown);
        co_return;
      }
      auto read = self->requests.on_bytes(std::string_view(buffer.get(), n));
      // A not-ready reply drops the link: every caller already reconnects
      // after a failed link, and the reconnect's PING waits until Redis is
      // ready.
      if (!read.not_ready.empty()) self->not_ready = std::move(read.not_ready);
      if (read.close) self->close_stream();
      self->complete(std::move(read.done));
      if (read.close) co_return;
    }
  }

  static asio::awaitable<void> writer(std::shared_ptr<State> self, std::uint64_t gen) {
    std::string out;
    while (gen == self->generation && self->requests.has_output()) {
      out = self->requests.take_output();
      error_code ec;
      co_await self->write_all(asio::buffer(out), ec);
      if (gen != self->generation) co_return;
      if (ec) {
        self->fail_all(errc::outcome_unknown);
        co_return;
      }
    }
    if (gen == self->generation) self->writing = false;
  }

  // Fails everything when the oldest deadline passes: Redis cannot cancel a
  // command, so the only way out of a stalled link is to drop it.
  static asio::awaitable<void> watch(std::shared_ptr<State> self, std::uint64_t gen) {
    for (;;) {
      if (gen != self->generation) co_return;
      if (self->requests.expired(Clock::now())) {
        self->fail_all(errc::command_timeout);
        co_return;
      }
      self->watchdog.expires_at(self->requests.next_deadline().value_or(Clock::time_point::max()));
      error_code ec;
      co_await self->watchdog.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }

  // Behind Sentinel: listens to the Sentinel at `at` for a switch of our
  // master while link `gen` lasts, and drops the link when one names another
  // address, so that its callers reconnect to the new master. A Sentinel that
  // cannot be reached or subscribed to ends the watch only: a demoted master
  // still drops its clients or answers READONLY.
  static asio::awaitable<void> watch_switches(std::shared_ptr<State> self, std::uint64_t gen, Url::Address at) {
    error_code ec;
    asio::ip::tcp::resolver resolver(self->executor);
    const auto endpoints = co_await resolver.async_resolve(at.host, std::to_string(at.port),
                                                           asio::redirect_error(asio::use_awaitable, ec));
    if (ec || gen != self->generation) co_return;
    auto socket = std::make_shared<asio::ip::tcp::socket>(self->executor);
    self->switch_watch = socket;
    co_await asio::async_connect(*socket, endpoints, asio::redirect_error(asio::use_awaitable, ec));
    if (ec || gen != self->generation) co_return;
    std::string subscribe;
    encode(subscribe, {"SUBSCRIBE", k_switch_channel});
    co_await asio::async_write(*socket, asio::buffer(subscribe), asio::redirect_error(asio::use_awaitable, ec));
    Decoder decoder;
    std::array<char, 2048> buffer{};
    while (!ec && gen == self->generation) {
      const auto n =
          co_await socket->async_read_some(asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, ec));
      if (ec || gen != self->generation) co_return;
      decoder.feed(std::string_view(buffer.data(), n));
      for (;;) {
        auto push = decoder.next();
        if (!push) co_return;  // not RESP: the watch ends
        if (!*push) break;
        if (auto moved = switched_master(**push, self->url.master); moved && moved != self->master) {
          self->not_ready =
              fmt::format("Sentinel {} says master '{}' moved to {}", at.text(), self->url.master, moved->text());
          self->fail_all(errc::outcome_unknown);
          co_return;
        }
      }
    }
  }

  std::shared_ptr<Request> enqueue(const std::vector<Command>& commands, std::chrono::milliseconds block) {
    auto request = std::make_shared<Request>(executor);
    const bool was_empty = requests.queued() == 0;
    waiting.emplace(requests.add(commands, Clock::now() + options.command_timeout + block), request);
    if (was_empty) watchdog.cancel();  // the watch sleeps until a deadline exists
    if (!writing) {
      writing = true;
      spawn_link_task(writer(shared_from_this(), generation), generation);
    }
    return request;
  }

  asio::awaitable<Result<std::vector<Value>>> exec(std::vector<Command> commands, std::chrono::milliseconds block) {
    if (!open) co_return errc::connection_closed;
    if (commands.empty()) co_return std::vector<Value>{};
    auto request = enqueue(commands, block);
    if (!request->done) {
      error_code ignored;
      co_await request->signal.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
    if (request->ec) co_return request->ec;
    if (url.scheme == Url::Scheme::cluster)
      co_return co_await follow_asks(commands, std::move(request->replies), block);
    co_return std::move(request->replies);
  }

  // In Cluster: a command answered ASK (its slot is being migrated, and its
  // key has gone ahead) is sent again to the node named, after ASKING, on a
  // link kept for that node while the migration lasts; its reply takes the
  // ASK's place. A transaction cannot be split so: it is answered as a
  // Redis that is not ready (the link drops; the reconnect waits out the
  // migration).
  asio::awaitable<Result<std::vector<Value>>> follow_asks(const std::vector<Command>& commands,
                                                          std::vector<Value> replies, std::chrono::milliseconds block) {
    const bool transaction = !commands.empty() && !commands.front().empty() && commands.front().front() == "MULTI";
    for (std::size_t i = 0; i < replies.size() && i < commands.size(); ++i) {
      const auto redirect = redirect_of(replies[i]);
      if (!redirect || redirect->kind != Redirect::Kind::ask) continue;
      if (transaction) {
        not_ready = replies[i].str;
        fail_all(errc::outcome_unknown);
        co_return errc::redis_not_ready;
      }
      auto to = redirect->to;
      if (to.host.empty() && master) to.host = master->host;
      if (!ask_link || ask_to != to) {
        Url node_url;
        node_url.host = to.host;
        node_url.port = to.port;
        node_url.user = url.user;
        node_url.password = url.password;
        ask_link = std::make_shared<Connection>(executor, node_url, options_for_node());
        ask_to = to;
      }
      const auto link = ask_link;  // kept alive here, whatever replaces it meanwhile
      if (!link->is_open()) {
        if (auto ec = co_await link->connect()) co_return ec;
      }
      std::vector<Command> asked{{"ASKING"}, commands[i]};
      auto answer = co_await link->exec(std::move(asked), block);
      if (!answer) co_return answer.error();
      replies[i] = std::move(answer->back());
    }
    co_return replies;
  }

  // A link of its own to another node of the cluster: the same timeouts, no
  // slot of its own.
  ConnectionOptions options_for_node() const {
    ConnectionOptions o = options;
    o.slot_key.clear();
    return o;
  }

  asio::awaitable<error_code> open_stream(std::string* detail) {
    error_code ec;
    if (url.scheme == Url::Scheme::unix_socket) {
      asio::local::stream_protocol::socket s(executor);
      co_await s.async_connect(asio::local::stream_protocol::endpoint(url.path),
                               asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (detail) *detail = fmt::format("cannot connect to {}: {}", url.path, ec.message());
        co_return errc::connect_failed;
      }
      stream = std::move(s);
      co_return error_code{};
    }

    if (url.scheme == Url::Scheme::sentinel || url.scheme == Url::Scheme::cluster) {
      // Two statements: GCC 12 miscompiles a co_await inside ?:.
      Result<Url::Address> found = errc::connect_failed;
      if (url.scheme == Url::Scheme::sentinel)
        found = co_await ask_sentinels(detail);
      else
        found = co_await ask_cluster(detail);
      if (!found) co_return found.error();
      master = *found;
      co_return co_await open_tcp(found->host, found->port, detail);
    }
    co_return co_await open_tcp(url.host, url.port, detail);
  }

  // Asks the Sentinels in turn where the master is.
  asio::awaitable<Result<Url::Address>> ask_sentinels(std::string* detail) {
    std::string failures;
    const auto failed = [&failures](const std::string& why) { failures += (failures.empty() ? "" : "; ") + why; };
    ConnectionOptions plain;  // no TLS: Sentinels are asked in the clear
    plain.connect_timeout = options.connect_timeout;
    plain.command_timeout = options.connect_timeout;
    for (std::size_t i = 0; i < url.hosts.size(); ++i) {
      const auto at = url.hosts[i];
      Url sentinel_url;
      sentinel_url.host = at.host;
      sentinel_url.port = at.port;
      Connection sentinel(executor, sentinel_url, plain);
      std::string why;
      if (co_await sentinel.connect(&why)) {
        failed(why);
        continue;
      }
      auto reply = co_await sentinel.exec_one(ask_master_command(url.master));
      if (!reply) {
        failed(fmt::format("Sentinel {} did not answer: {}", at.text(), reply.error().message()));
        continue;
      }
      auto found = master_address(*reply, url.master, &why);
      if (!found) {
        failed(fmt::format("Sentinel {}: {}", at.text(), why));
        continue;
      }
      prefer(url.hosts, i);
      co_return *found;
    }
    if (detail) *detail = fmt::format("no Sentinel of {} named the master: {}", url.redacted(), failures);
    co_return errc::connect_failed;
  }

  // Asks the cluster's nodes in turn, the last master first, which node is
  // the master of the slot.
  asio::awaitable<Result<Url::Address>> ask_cluster(std::string* detail) {
    std::vector<Url::Address> nodes;
    if (master) nodes.push_back(*master);
    for (const auto& h : url.hosts)
      if (!master || h != *master) nodes.push_back(h);
    const auto slot = key_slot(options.slot_key);
    std::string failures;
    const auto failed = [&failures](const std::string& why) { failures += (failures.empty() ? "" : "; ") + why; };
    ConnectionOptions plain;
    plain.connect_timeout = options.connect_timeout;
    plain.command_timeout = options.connect_timeout;
    error_code last = errc::connect_failed;
    for (const auto& at : nodes) {
      Url node_url;
      node_url.host = at.host;
      node_url.port = at.port;
      node_url.user = url.user;
      node_url.password = url.password;
      Connection node(executor, node_url, plain);
      std::string why;
      if (auto ec = co_await node.connect(&why)) {
        if (ec == errc::auth_failed) {
          if (detail) *detail = why;
          co_return ec;
        }
        failed(why);
        continue;
      }
      auto reply = co_await node.exec_one(shards_command());
      if (!reply) {
        failed(fmt::format("node {} did not answer: {}", at.text(), reply.error().message()));
        continue;
      }
      auto found = slot_master(*reply, slot, &why);
      if (!found) {
        last = errc::redis_not_ready;  // the cluster answers, without a master for the slot yet
        failed(fmt::format("node {}: {}", at.text(), why));
        continue;
      }
      co_return *found;
    }
    if (detail)
      *detail = fmt::format("no node of {} named the master of slot {} (stream '{}'): {}", url.redacted(), slot,
                            options.slot_key, failures);
    co_return last;
  }

  asio::awaitable<error_code> open_tcp(const std::string& host, std::uint16_t port, std::string* detail) {
    error_code ec;
    asio::ip::tcp::resolver resolver(executor);
    const auto endpoints =
        co_await resolver.async_resolve(host, std::to_string(port), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (detail) *detail = fmt::format("cannot resolve '{}': {}", host, ec.message());
      co_return errc::connect_failed;
    }
    asio::ip::tcp::socket socket(executor);
    co_await asio::async_connect(socket, endpoints, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (detail) *detail = fmt::format("cannot connect to {}:{}: {}", host, port, ec.message());
      co_return errc::connect_failed;
    }
    socket.set_option(asio::ip::tcp::no_delay(true), ec);
    socket.set_option(asio::socket_base::keep_alive(true), ec);

    if (url.scheme == Url::Scheme::tls) {
#ifdef STREAMCKPT_HAVE_TLS
      if (auto e = make_tls_context(detail)) co_return e;
      auto tls = std::make_unique<TlsStream>(std::move(socket), *tls_context);
      if (!options.tls_insecure) {
        tls->set_verify_mode(asio::ssl::verify_peer);
        tls->set_verify_callback(asio::ssl::host_name_verification(url.host));
      }
      SSL_set_tlsext_host_name(tls->native_handle(), url.host.c_str());
      co_await tls->async_handshake(asio::ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (detail) *detail = fmt::format("TLS handshake with {}:{} failed: {}", url.host, url.port, ec.message());
        co_return errc::connect_failed;
      }
      stream = std::move(tls);
      co_return error_code{};
#else
      if (detail) *detail = "this build has no TLS support (rebuild with OpenSSL for rediss://)";
      co_return errc::connect_failed;
#endif
    }
    stream = std::move(socket);
    co_return error_code{};
  }

#ifdef STREAMCKPT_HAVE_TLS
  error_code make_tls_context(std::string* detail) {
    if (tls_context) return {};
    auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    error_code ec;
    // A file that cannot be loaded is a configuration error: retrying the
    // connection would only repeat it.
    const auto failed = [&](const std::string& what) {
      if (detail) *detail = fmt::format("cannot load {}: {}", what, ec.message());
      return make_error_code(errc::tls_setup);
    };
    if (!options.tls_ca.empty()) {
      ctx->load_verify_file(options.tls_ca, ec);
      if (ec) return failed(fmt::format("the TLS CA file '{}'", options.tls_ca));
    } else {
      ctx->set_default_verify_paths(ec);
      if (ec) return failed("the system's default TLS CA paths");
    }
    if (!options.tls_cert.empty()) {
      ctx->use_certificate_chain_file(options.tls_cert, ec);
      if (ec) return failed(fmt::format("the TLS certificate '{}'", options.tls_cert));
    }
    if (!options.tls_key.empty()) {
      ctx->use_private_key_file(options.tls_key, asio::ssl::context::pem, ec);
      if (ec) return failed(fmt::format("the TLS private key '{}'", options.tls_key));
    }
    tls_context = std::move(ctx);
    return {};
  }
#endif

  asio::awaitable<error_code> handshake(std::string* detail) {
    std::vector<Command> hello;
    if (!url.password.empty()) {
      if (url.user.empty())
        hello.push_back({"AUTH", url.password});
      else
        hello.push_back({"AUTH", url.user, url.password});
    }
    if (url.db != 0) hello.push_back({"SELECT", std::to_string(url.db)});
    // Always a PING: AUTH and SELECT succeed while Redis loads its data set,
    // PING answers LOADING (the reader then fails this request).
    hello.push_back({"PING"});
    const auto ping = hello.size() - 1;
    // Behind Sentinel: is it the master still? A Sentinel may name one that a
    // failover in progress is demoting.
    const bool ask_role = url.scheme == Url::Scheme::sentinel;
    if (ask_role) hello.push_back({"ROLE"});
    not_ready.clear();
    auto replies = co_await exec(std::move(hello), std::chrono::milliseconds{0});
    if (!replies) {
      if (!not_ready.empty()) {
        if (detail) *detail = fmt::format("{} is not ready: {}", where(), not_ready);
        co_return errc::redis_not_ready;
      }
      if (detail) *detail = fmt::format("{} did not answer: {}", where(), replies.error().message());
      co_return replies.error();
    }
    for (std::size_t i = 0; i < replies->size(); ++i) {
      const auto& r = (*replies)[i];
      if (!r.is_error()) continue;
      const auto prefix = r.error_prefix();
      // The PING is only there to meet LOADING (the reader turns that into a
      // failure) and NOAUTH: an ACL user need not be allowed PING, and a
      // server may have renamed it.
      if ((i == ping || (ask_role && i == ping + 1)) &&
          (prefix == "NOPERM" || r.str.find("unknown command") != std::string::npos))
        continue;
      const bool auth = prefix == "WRONGPASS" || prefix == "NOAUTH" || r.str.find("AUTH") != std::string::npos ||
                        r.str.find("password") != std::string::npos;
      if (detail) *detail = fmt::format("{} refused: {}", where(), without_secret(r.str, url.password));
      co_return auth ? errc::auth_failed : errc::redis_error;
    }
    if (ask_role && !replies->back().is_error()) {
      if (const auto role = role_of(replies->back()); role != "master") {
        if (detail)
          *detail = fmt::format(
              "{} is not a master (ROLE: '{}'): a failover is in progress; asking the Sentinels again", where(), role);
        co_return errc::redis_not_ready;
      }
    }
    co_return error_code{};
  }

  // Single flight: several coroutines that find the connection closed (reads
  // of XACK, write-through, lease) share one connect instead of tearing down
  // each other's.
  asio::awaitable<error_code> connect(std::string* detail) {
    if (connecting) {
      while (connecting) {
        error_code ignored;
        co_await connect_done.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
      }
      if (detail) *detail = last_connect_detail;
      co_return open ? error_code{}
                     : (last_connect_error ? last_connect_error : make_error_code(errc::connection_closed));
    }
    connecting = true;
    std::string local;
    last_connect_error = co_await connect_now(&local);
    last_connect_detail = local;
    if (detail) *detail = local;
    connecting = false;
    connect_done.cancel();
    co_return last_connect_error;
  }

  asio::awaitable<error_code> connect_now(std::string* detail) {
    fail_all(errc::outcome_unknown);
    stream = std::monostate{};
    const auto gen = generation;

    asio::steady_timer timer(executor, options.connect_timeout);
    std::string local_detail;
    auto result = co_await (open_stream(&local_detail) || timer.async_wait(asio::use_awaitable));
    if (result.index() == 1) {
      if (detail)
        *detail = fmt::format("connecting to {} timed out after {} ms", where(), options.connect_timeout.count());
      fail_all(errc::connect_failed);
      co_return errc::connect_failed;
    }
    if (auto ec = std::get<0>(result)) {
      if (detail) *detail = local_detail;
      fail_all(ec);
      co_return ec;
    }
    if (gen != generation) co_return errc::connection_closed;  // closed meanwhile

    open = true;
    spawn_link_task(reader(shared_from_this(), gen), gen);
    spawn_link_task(watch(shared_from_this(), gen), gen);

    const auto saved_timeout = options.command_timeout;
    options.command_timeout = options.connect_timeout;
    auto ec = co_await handshake(detail);
    options.command_timeout = saved_timeout;
    // Another request sent behind the handshake may have dropped the link
    // meanwhile (a not-ready reply, which the PING can miss).
    if (!ec && (gen != generation || !open)) {
      ec = not_ready.empty() ? make_error_code(errc::connection_closed) : make_error_code(errc::redis_not_ready);
      if (detail)
        *detail = not_ready.empty() ? fmt::format("{} closed the connection", where())
                                    : fmt::format("{} is not ready: {}", where(), not_ready);
    }
    if (ec) {
      fail_all(ec);
      co_return ec;
    }
    ++connects;
    if (url.scheme == Url::Scheme::sentinel)
      spawn_link_task(watch_switches(shared_from_this(), gen, url.hosts.front()), gen);
    co_return error_code{};
  }
};

Connection::Connection(asio::any_io_executor executor, Url url, ConnectionOptions options)
    : state_(std::make_shared<State>(std::move(executor), std::move(url), std::move(options))) {}

// The requests still queued fail with connection_closed. A watchdog timer
// that cannot be cancelled (its cancel() throws) cannot be reported from a
// destructor: it fires later into a connection that is closed.
Connection::~Connection() {
  try {
    state_->fail_all(errc::connection_closed);
  } catch (...) {  // see above
  }
}

asio::awaitable<error_code> Connection::connect(std::string* detail) {
  auto state = state_;
  co_return co_await state->connect(detail);
}

asio::awaitable<Result<std::vector<Value>>> Connection::exec(std::vector<Command> commands,
                                                             std::chrono::milliseconds block) {
  auto state = state_;
  co_return co_await state->exec(std::move(commands), block);
}

asio::awaitable<Result<Value>> Connection::exec_one(Command command, std::chrono::milliseconds block) {
  auto state = state_;
  std::vector<Command> commands;
  commands.push_back(std::move(command));
  auto replies = co_await state->exec(std::move(commands), block);
  if (!replies) co_return replies.error();
  co_return std::move(replies->front());
}

void Connection::close() { state_->fail_all(errc::outcome_unknown); }
bool Connection::is_open() const { return state_->open; }
const Url& Connection::url() const { return state_->url; }
std::optional<Url::Address> Connection::master() const { return state_->master; }
std::string Connection::where() const { return state_->where(); }
const std::string& Connection::not_ready_reply() const { return state_->not_ready; }
std::uint64_t Connection::reconnects() const { return state_->connects > 0 ? state_->connects - 1 : 0; }

}  // namespace streamckpt::redis
