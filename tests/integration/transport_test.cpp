// The ways to reach Redis: unix sockets with a database number, ACL users,
// TLS (rediss://) with CA verification; and the metrics line.
#include "cli.hpp"
#include "redis_server.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <thread>
#include <utility>

using namespace streamckpt::test;

namespace {

std::vector<std::string> consume(const std::string& url, const TempDir& dir, std::vector<std::string> extra = {}) {
  std::vector<std::string> a = {"consume",
                                "--redis",
                                url,
                                "--stream",
                                "orders",
                                "--group",
                                "billing",
                                "--consumer",
                                "edge-7",
                                "--data-dir",
                                (dir.path() / "ckpt").string(),
                                "--idle-exit-ms",
                                "300"};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

// A self-signed certificate for `cn`, valid for 127.0.0.1, and its key:
// <name>.pem and <name>-key.pem in `dir`. Returns {certificate, key}.
std::pair<std::string, std::string> make_certificate(const TempDir& dir, const std::string& name,
                                                     const std::string& cn) {
  const auto cert = (dir.path() / (name + ".pem")).string(), key = (dir.path() / (name + "-key.pem")).string();
  const auto cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=" + cn +
                   " -addext subjectAltName=IP:127.0.0.1 -keyout " + key + " -out " + cert + " 2>/dev/null";
  REQUIRE(std::system(cmd.c_str()) == 0);
  return {cert, key};
}

// A redis-server that also serves TLS on its own port, holding entries 1..10
// of "orders".
struct TlsRedis {
  TlsRedis(const std::string& cert, const std::string& key, const std::string& ca, bool auth_clients)
      : tls_port(free_port()),
        redis({"--tls-port", std::to_string(tls_port), "--tls-cert-file", cert, "--tls-key-file", key,
               "--tls-ca-cert-file", ca, "--tls-auth-clients", auth_clients ? "yes" : "no"}),
        url("rediss://127.0.0.1:" + std::to_string(tls_port)) {
    Client(redis.port()).produce("orders", 1, 10);
  }
  int tls_port;
  RedisServer redis;
  std::string url;
};

// An ACL user "app" that may run every command but `denied`; its URL.
std::string url_of_user_without(const RedisServer& redis, Client& c, const std::string& denied) {
  c.run({"ACL", "SETUSER", "app", "on", ">pw", "~*", "&*", "+@all", "-" + denied});
  return "redis://app:pw@127.0.0.1:" + std::to_string(redis.port());
}

std::vector<int> one_to(int n) {
  std::vector<int> v;
  for (int i = 1; i <= n; ++i) v.push_back(i);
  return v;
}

}  // namespace

TEST_CASE("unix:///path?db=N reaches the server through its socket and selects the database") {
  TempDir dir;
  const auto sock = (dir.path() / "redis.sock").string();
  RedisServer redis({"--unixsocket", sock, "--unixsocketperm", "700"});
  Client c(redis.port());
  c.run({"SELECT", "3"});
  c.produce("orders", 1, 20);
  const auto r = run_cli(consume("unix://" + sock + "?db=3", dir));
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(handled_numbers(r.out) == one_to(20));
  CHECK(c.run({"EXISTS", "streamckpt:{orders}:billing:edge-7"})->integer == 1);  // in db 3
}

TEST_CASE("an ACL user and password authenticate; the database in the URL is selected") {
  RedisServer redis;
  Client c(redis.port());
  c.run({"ACL", "SETUSER", "app", "on", ">s3cret:@/x", "~*", "&*", "+@all"});
  c.run({"SELECT", "2"});
  c.produce("orders", 1, 5);
  TempDir dir;
  const auto r = run_cli(consume("redis://app:s3cret%3A%40%2Fx@127.0.0.1:" + std::to_string(redis.port()) + "/2", dir));
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(handled_numbers(r.out) == one_to(5));
}

TEST_CASE("an ACL user that may not XACK: the refusals are counted and logged once, the entries stay pending") {
  RedisServer redis;
  Client c(redis.port());
  const auto url = url_of_user_without(redis, c, "xack");
  c.produce("orders", 1, 30);
  TempDir dir;
  const auto r = run_cli(consume(url, dir, {"--metrics"}));
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(handled_numbers(r.out) == one_to(30));
  CHECK(contains(r.err, "\"xacks\":0,\"xack_failures\":30,"));
  const auto refused = std::string("streamckpt: XACK refused by Redis (NOPERM");
  CHECK(contains(r.err, refused));
  CHECK(r.err.find(refused) == r.err.rfind(refused));  // logged once
  CHECK(c.run({"XPENDING", "orders", "billing"})->element[0]->integer == 30);
}

TEST_CASE("the PING that waits for a loading Redis may be refused: an ACL user without it, a server that renamed it") {
  // Every entry, and at the first attempt: the refused PING fails no connect.
  const auto consumes_ten = [](Client& c, const std::string& url) {
    c.produce("orders", 1, 10);
    TempDir dir;
    const auto r = run_cli(consume(url, dir, {"--startup-timeout-ms", "0"}));
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    CHECK(handled_numbers(r.out) == one_to(10));
  };
  SUBCASE("an ACL user that may not PING") {
    RedisServer redis;
    Client c(redis.port());
    consumes_ten(c, url_of_user_without(redis, c, "ping"));
  }
  SUBCASE("a server with PING renamed away, behind a password") {
    RedisServer redis({"--rename-command", "PING", "", "--requirepass", "pw"});
    Client c(redis.port(), "pw");
    consumes_ten(c, "redis://:pw@127.0.0.1:" + std::to_string(redis.port()));
  }
}

TEST_CASE("an ACL user that may not SET: taking the lease fails with Redis's answer instead of retrying forever") {
  RedisServer redis;
  Client c(redis.port());
  const auto url = url_of_user_without(redis, c, "set");
  c.produce("orders", 1, 3);
  TempDir dir;
  // A start-up timeout far beyond the test's patience: a retry loop would end
  // only there.
  const auto r = run_cli(consume(url, dir, {"--startup-timeout-ms", "600000"}));
  CHECK(r.exit_code == 1);
  CHECK(contains(r.err, "streamckpt: error: SET streamckpt:{orders}:billing:edge-7:lease (the lease) failed: NOPERM"));
  CHECK(handled_numbers(r.out).empty());
}

TEST_CASE("rediss:// verifies the server against --tls-ca, and a wrong CA fails with a clear error") {
  TempDir dir;
  const auto [cert, key] = make_certificate(dir, "cert", "127.0.0.1");
  const auto other = make_certificate(dir, "other", "127.0.0.1").first;
  const TlsRedis server(cert, key, cert, false);
  const auto& url = server.url;
  const int tls_port = server.tls_port;

  const auto ok = run_cli(consume(url, dir, {"--tls-ca", cert}));
  REQUIRE_MESSAGE(ok.exit_code == 0, ok.err);
  CHECK(handled_numbers(ok.out) == one_to(10));

  TempDir dir2;
  const auto refused = run_cli(consume(url, dir2, {"--tls-ca", other, "--startup-timeout-ms", "0"}));
  CHECK(refused.exit_code == 1);
  CHECK(
      contains(refused.err, "streamckpt: error: TLS handshake with 127.0.0.1:" + std::to_string(tls_port) + " failed"));

  TempDir dir3;
  const auto insecure = run_cli(consume(url, dir3, {"--tls-ca", other, "--tls-insecure"}));
  REQUIRE_MESSAGE(insecure.exit_code == 0, insecure.err);
  // It got through TLS: it read the Redis copy the first run left.
  CHECK(contains(insecure.err, "(source: redis)"));
  CHECK(handled_numbers(insecure.out).empty());
}

TEST_CASE("a server that requires client certificates accepts --tls-cert/--tls-key and refuses a client without") {
  TempDir dir;
  const auto [server, server_key] = make_certificate(dir, "server", "127.0.0.1");
  const auto [client, client_key] = make_certificate(dir, "client", "edge-7");
  const auto [stranger, stranger_key] = make_certificate(dir, "stranger", "stranger");
  const auto trusted = (dir.path() / "trusted.pem").string();
  // The server trusts its own certificate and the client's, not the stranger's.
  REQUIRE(std::system(("cat " + server + " " + client + " > " + trusted).c_str()) == 0);
  const TlsRedis redis(server, server_key, trusted, true);
  const auto& url = redis.url;

  const auto ok = run_cli(consume(url, dir, {"--tls-ca", server, "--tls-cert", client, "--tls-key", client_key}));
  REQUIRE_MESSAGE(ok.exit_code == 0, ok.err);
  CHECK(handled_numbers(ok.out) == one_to(10));

  for (const auto& who : {std::pair{stranger, stranger_key}, std::pair{std::string(), std::string()}}) {
    TempDir other;
    std::vector<std::string> extra = {"--tls-ca", server, "--startup-timeout-ms", "0"};
    if (!who.first.empty()) extra.insert(extra.end(), {"--tls-cert", who.first, "--tls-key", who.second});
    const auto refused = run_cli(consume(url, other, extra));
    INFO(refused.err);
    CHECK(refused.exit_code == 1);
    CHECK(contains(refused.err, "streamckpt: error: "));
    CHECK(handled_numbers(refused.out).empty());
  }

  TempDir mismatched;
  const auto bad_key = run_cli(
      consume(url, mismatched,
              {"--tls-ca", server, "--tls-cert", client, "--tls-key", stranger_key, "--startup-timeout-ms", "0"}));
  CHECK(bad_key.exit_code == 1);
  CHECK(contains(bad_key.err, "streamckpt: error: cannot load the TLS private key '" + stranger_key + "': "));
}

TEST_CASE("a TLS file that cannot be loaded is named, and start-up fails at once instead of retrying") {
  TempDir dir;
  const auto [cert, key] = make_certificate(dir, "cert", "127.0.0.1");
  const TlsRedis server(cert, key, cert, false);
  const auto missing = (dir.path() / "no-such-ca.pem").string();
  // A start-up timeout far beyond the test's patience: a retry loop would
  // show as "retrying" lines and this timeout, not as a quick exit.
  const auto r = run_cli(consume(server.url, dir, {"--tls-ca", missing, "--startup-timeout-ms", "20000"}));
  CHECK(r.exit_code == 1);
  CHECK(contains(r.err, "streamckpt: error: cannot load the TLS CA file '" + missing + "': "));
  CHECK(!contains(r.err, "retrying"));
  CHECK(handled_numbers(r.out).empty());
}

TEST_CASE("--metrics prints one JSON line of counters at exit") {
  RedisServer redis;
  Client c(redis.port());
  c.produce("orders", 1, 300);
  TempDir dir;
  const auto r = run_cli(consume(redis.url(), dir, {"--metrics"}));
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const auto at = r.err.find("{\"events\":300,\"acks\":300,\"commits\":");
  REQUIRE(at != std::string::npos);
  const auto line = r.err.substr(at, r.err.find('\n', at) - at);
  CHECK(contains(line, "\"xacks\":300"));
  CHECK(contains(line, "\"storage_errors\":0"));
  CHECK(contains(line, "\"redis_lag\":{\"events\":0,\"ms\":0}"));  // flushed at the clean stop
  CHECK(contains(line, "\"ack_to_durable_us\":{\"p50\":"));
  // Timed synced writes, still there after the store closed (0: none timed).
  CHECK(contains(line, "\"sync_us\":{\"p50\":"));
  CHECK(!contains(line, "\"sync_us\":{\"p50\":0,"));
}

TEST_CASE("--metrics-interval-ms also prints the counters while running") {
  RedisServer redis;
  Client c(redis.port());
  c.produce("orders", 1, 10);
  TempDir dir;
  const auto r = run_cli(consume(redis.url(), dir, {"--metrics-interval-ms", "50"}));
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  std::size_t lines = 0;
  for (std::size_t at = r.err.find("{\"events\":"); at != std::string::npos; at = r.err.find("{\"events\":", at + 1))
    ++lines;
  CHECK(lines >= 3);  // ticks during the 300 ms before the idle exit, plus the line at exit
  CHECK(contains(r.err, "{\"events\":10,\"acks\":10,"));

  // An interval longer than the run: no tick comes, the line at exit does.
  // (It resumes from the Redis copy the first run left: 2 new entries.)
  TempDir dir2;
  c.produce("orders", 11, 2);
  const auto once = run_cli(consume(redis.url(), dir2, {"--metrics-interval-ms", "3600000"}));
  REQUIRE_MESSAGE(once.exit_code == 0, once.err);
  const auto first = once.err.find("{\"events\":2,\"acks\":2,");
  CHECK(first != std::string::npos);
  CHECK(once.err.find("\"redis_flushes\":", first) == once.err.rfind("\"redis_flushes\":"));  // one line
}

TEST_CASE("plain mode on a read-only replica: every entry is handled; the write-through's refusal is logged once") {
  RedisServer master;
  Client m(master.port());
  m.produce("orders", 1, 20);
  RedisServer replica({"--replicaof", "127.0.0.1", std::to_string(master.port())});
  Client r(replica.port());
  bool synced = false;
  for (int i = 0; i < 500 && !synced; ++i) {
    synced = r.run({"XLEN", "orders"})->integer == 20;
    if (!synced) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  REQUIRE(synced);
  TempDir dir;
  auto args = consume(replica.url(), dir, {"--flush-ms", "20"});
  args.erase(std::find(args.begin(), args.end(), std::string("--group")),
             std::find(args.begin(), args.end(), std::string("--consumer")));
  const auto result = run_cli(args);
  REQUIRE_MESSAGE(result.exit_code == 0, result.err);
  CHECK(handled_numbers(result.out) == one_to(20));
  const std::string refused = "streamckpt: cannot write the Redis copy: READONLY You can't write against a read only";
  CHECK(contains(result.err, refused));
  CHECK(result.err.find(refused) == result.err.rfind(refused));  // once
  CHECK(contains(result.err, "streamckpt: final write-through to Redis failed (READONLY You can't write against a"));
}

TEST_CASE("a Redis at its client limit is retried with its answer, and the consumer starts once a slot frees") {
  // With a password, Redis's one answer meets AUTH and PING: the PING's reply
  // never comes.
  RedisServer redis({"--maxclients", "2", "--requirepass", "pw"});
  auto first = std::make_unique<Client>(redis.port(), "pw");
  first->produce("orders", 1, 10);
  auto second = std::make_unique<Client>(redis.port(), "pw");
  TempDir dir;
  CliProcess p(consume("redis://:pw@127.0.0.1:" + std::to_string(redis.port()), dir), dir.path());
  const std::string full = " is not ready: ERR max number of clients reached; retrying in ";
  bool retried = false;
  for (int i = 0; i < 1500 && !retried; ++i) {
    retried = contains(p.err(), full);
    if (!retried) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  first.reset();
  second.reset();
  const auto r = p.wait();  // --idle-exit-ms 300
  INFO("stderr: ", r.err);
  CHECK(retried);
  CHECK(r.exit_code == 0);
  CHECK(handled_numbers(r.out) == one_to(10));
}

TEST_CASE("a server without AUTH echoes the password in its refusal: the message shows *** instead") {
  RedisServer redis({"--rename-command", "AUTH", ""});
  TempDir dir;
  const auto r = run_cli(
      consume("redis://:hunter22@127.0.0.1:" + std::to_string(redis.port()), dir, {"--startup-timeout-ms", "0"}));
  CHECK(r.exit_code == 1);
  CHECK(contains(r.err, "refused: ERR unknown command 'AUTH', with args beginning with: '***'"));
  CHECK(!contains(r.err, "hunter22"));
}

TEST_CASE("an ACL user that may not XRANGE: start-up says the checkpoint's entry is not looked up, and goes on") {
  RedisServer redis;
  Client c(redis.port());
  const auto url = url_of_user_without(redis, c, "xrange");
  c.produce("orders", 1, 10);
  TempDir dir;
  const auto first = run_cli(consume(url, dir));
  REQUIRE_MESSAGE(first.exit_code == 0, first.err);
  c.produce("orders", 11, 5);
  const auto second = run_cli(consume(url, dir));
  REQUIRE_MESSAGE(second.exit_code == 0, second.err);
  CHECK(contains(second.err, " up in the stream (NOPERM"));
  CHECK(contains(second.err, "; whether the stream lost it is not checked"));
  auto all = handled_numbers(first.out);
  const auto more = handled_numbers(second.out);
  all.insert(all.end(), more.begin(), more.end());
  CHECK(all == one_to(15));
}
