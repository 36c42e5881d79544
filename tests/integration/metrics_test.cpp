// --metrics-listen and --metrics-file: the Prometheus text format, scraped
// over a real TCP connection and read from the written file, with exact
// counts after a known number of events.
#include "cli.hpp"
#include "redis_server.hpp"

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <csignal>
#include <cstring>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

using namespace streamckpt::test;

namespace {

struct HttpReply {
  std::string status_line;
  std::map<std::string, std::string> headers;
  std::string body;
};

// One request over a fresh connection, read to the server's close.
HttpReply http(int port, const std::string& request) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size()));
  std::string raw;
  char buffer[4096];
  for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0;) raw.append(buffer, static_cast<std::size_t>(n));
  ::close(fd);
  HttpReply r;
  const auto head_end = raw.find("\r\n\r\n");
  REQUIRE(head_end != std::string::npos);
  std::istringstream head(raw.substr(0, head_end));
  std::getline(head, r.status_line);
  if (!r.status_line.empty() && r.status_line.back() == '\r') r.status_line.pop_back();
  for (std::string line; std::getline(head, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto colon = line.find(": ");
    if (colon != std::string::npos) r.headers[line.substr(0, colon)] = line.substr(colon + 2);
  }
  r.body = raw.substr(head_end + 4);
  if (request.rfind("HEAD ", 0) != 0) CHECK(r.headers.at("Content-Length") == std::to_string(r.body.size()));
  return r;
}

HttpReply get(int port, const std::string& target) {
  return http(port, "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/plain\r\n\r\n");
}

// Every sample line of an exposition: "name{labels}" -> value. Checks that
// each family has its # HELP and # TYPE before its samples.
std::map<std::string, std::string> samples(const std::string& text) {
  static const std::regex sample(R"(^([a-z_0-9]+)(\{[^}]*\})? (\S+)$)");
  static const std::regex type(R"(^# TYPE ([a-z_0-9]+) (counter|gauge|histogram)$)");
  std::map<std::string, std::string> out;
  std::set<std::string> typed;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (line.rfind("# HELP ", 0) == 0) continue;
    if (std::regex_match(line, m, type)) {
      typed.insert(m[1]);
      continue;
    }
    REQUIRE_MESSAGE(std::regex_match(line, m, sample), line);
    std::string family = m[1];
    for (const char* suffix : {"_bucket", "_sum", "_count"})
      if (!typed.count(family) && family.size() > std::strlen(suffix) &&
          family.compare(family.size() - std::strlen(suffix), std::string::npos, suffix) == 0)
        family.resize(family.size() - std::strlen(suffix));
    CHECK_MESSAGE(typed.count(family) == 1, line);
    out[m[1].str() + m[2].str()] = m[3];
  }
  return out;
}

// The port the CLI named on stderr ("serving metrics on http://127.0.0.1:P/metrics").
int served_port(const CliProcess& p) {
  static const std::regex line(R"(streamckpt: serving metrics on http://127\.0\.0\.1:(\d+)/metrics\n)");
  for (int i = 0; i < 2000; ++i) {
    std::smatch m;
    const auto err = p.err();
    if (std::regex_search(err, m, line)) return std::stoi(m[1]);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  FAIL("the CLI never said where it serves the metrics");
  return 0;
}

std::string ms_of(const std::string& id) { return id.substr(0, id.find('-')); }
std::string seq_of(const std::string& id) { return id.substr(id.find('-') + 1); }

// Scrapes until `done` holds for the samples (20 s at most); the last ones.
template <class Done>
std::map<std::string, std::string> scrape_until(int port, Done done) {
  std::map<std::string, std::string> s;
  for (int i = 0; i < 400; ++i) {
    const auto r = get(port, "/metrics");
    REQUIRE(r.status_line == "HTTP/1.1 200 OK");
    s = samples(r.body);
    if (done(s)) return s;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return s;
}

void check_histogram(const std::map<std::string, std::string>& s, std::uint64_t count) {
  CHECK(s.at("streamckpt_ack_to_durable_seconds_count") == std::to_string(count));
  CHECK(s.at("streamckpt_ack_to_durable_seconds_bucket{le=\"+Inf\"}") == std::to_string(count));
  std::uint64_t previous = 0, buckets = 0;
  for (const auto& [name, value] : s) {
    if (name.rfind("streamckpt_ack_to_durable_seconds_bucket{", 0) != 0) continue;
    ++buckets;
    const auto v = std::stoull(value);
    CHECK(v <= count);
    (void)previous;
  }
  CHECK(buckets == 17);
  // Cumulative: in the order of their bounds, never decreasing.
  for (const char* le : {"0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1",
                         "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"}) {
    const auto v = std::stoull(s.at(std::string("streamckpt_ack_to_durable_seconds_bucket{le=\"") + le + "\"}"));
    CHECK(v >= previous);
    previous = v;
  }
}

}  // namespace

TEST_CASE("a scrape of --metrics-listen counts exactly the events handled, with the lag and the histogram") {
  RedisServer redis;
  Client client(redis.port());
  const auto ids = client.produce("s", 1, 25);
  TempDir dir;
  CliProcess cli({"consume", "--redis", redis.url(), "--stream", "s", "--consumer", "edge-1", "--data-dir",
                  (dir.path() / "d").string(), "--metrics-listen", "127.0.0.1:0"},
                 dir.path());
  const int port = served_port(cli);

  auto s = scrape_until(port, [&](const auto& m) {
    return m.at("streamckpt_checkpoint_seq") == seq_of(ids.back()) && m.count("streamckpt_lag_entries") &&
           m.at("streamckpt_redis_copy_behind_entries") == "0" && m.at("streamckpt_redis_flushes_total") != "0";
  });
  CHECK(s.at("streamckpt_info{stream=\"s\",group=\"\",consumer=\"edge-1\"}") == "1");
  CHECK(s.at("streamckpt_started") == "1");
  CHECK(s.at("streamckpt_events_total") == "25");
  CHECK(s.at("streamckpt_acks_total") == "25");
  CHECK(s.at("streamckpt_handled_total") == "25");
  CHECK(s.at("streamckpt_xacks_total") == "0");  // plain mode
  CHECK(s.at("streamckpt_gaps_total") == "0");
  CHECK(s.at("streamckpt_storage_errors_total") == "0");
  CHECK(s.at("streamckpt_checkpoint_ms") == ms_of(ids.back()));
  CHECK(s.at("streamckpt_checkpoint_seq") == seq_of(ids.back()));
  CHECK(s.at("streamckpt_lag_entries") == "0");
  CHECK(s.at("streamckpt_lag_seconds") == "0.000000");
  check_histogram(s, 25);
  CHECK(handled_numbers(cli.out()).size() == 25);

  // Five more: the counters follow.
  const auto more = client.produce("s", 26, 5);
  s = scrape_until(port, [&](const auto& m) {
    return m.at("streamckpt_checkpoint_seq") == seq_of(more.back()) &&
           m.at("streamckpt_checkpoint_ms") == ms_of(more.back());
  });
  CHECK(s.at("streamckpt_events_total") == "30");
  CHECK(s.at("streamckpt_handled_total") == "30");
  check_histogram(s, 30);

  // The HTTP side: the content type Prometheus expects, 404, 405, HEAD.
  const auto ok = get(port, "/metrics");
  CHECK(ok.headers.at("Content-Type") == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(get(port, "/").status_line == "HTTP/1.1 404 Not Found");
  CHECK(http(port, "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n").status_line ==
        "HTTP/1.1 405 Method Not Allowed");
  const auto head = http(port, "HEAD /metrics HTTP/1.1\r\n\r\n");
  CHECK(head.status_line == "HTTP/1.1 200 OK");

  cli.signal(SIGTERM);
  const auto r = cli.wait();
  CHECK(r.exit_code == 0);
  CHECK(handled_numbers(r.out).size() == 30);
}

TEST_CASE("--metrics-file holds the final numbers at exit, with the lag behind the stream, written 0644") {
  RedisServer redis;
  const auto ids = Client(redis.port()).produce("s", 1, 25);
  TempDir dir;
  const auto file = dir.path() / "streamckpt.prom";
  const auto r = run_cli({"consume", "--redis", redis.url(), "--stream", "s", "--consumer", "c", "--data-dir",
                          (dir.path() / "d").string(), "--max-events", "20", "--metrics-file", file.string()});
  CHECK(r.exit_code == 0);
  const auto s = samples(read_file(file));
  // All 25 were read in one batch and handed out; 20 were written and acked.
  CHECK(s.at("streamckpt_events_total") == "25");
  CHECK(s.at("streamckpt_handled_total") == "20");
  CHECK(s.at("streamckpt_acks_total") == "20");
  CHECK(s.at("streamckpt_checkpoint_ms") == ms_of(ids[19]));
  CHECK(s.at("streamckpt_checkpoint_seq") == seq_of(ids[19]));
  CHECK(s.at("streamckpt_lag_entries") == "5");
  const auto lag_ms = std::stoull(ms_of(ids[24])) - std::stoull(ms_of(ids[19]));
  char expected_lag[64];
  std::snprintf(expected_lag, sizeof expected_lag, "%.6f", static_cast<double>(lag_ms) / 1e3);
  CHECK(s.at("streamckpt_lag_seconds") == expected_lag);
  check_histogram(s, 20);
  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0644);
  CHECK_FALSE(std::filesystem::exists(file.string() + ".tmp"));
}

TEST_CASE("a bad --metrics-listen address is a usage error; a port in use or an unwritable file fails at once") {
  TempDir dir;
  const std::vector<std::string> base = {"consume",  "--redis",    "redis://127.0.0.1:1",
                                         "--stream", "s",          "--consumer",
                                         "c",        "--data-dir", (dir.path() / "d").string()};
  for (const std::string bad :
       {"127.0.0.1", "localhost:9464", "127.0.0.1:65536", "127.0.0.1:", "::1:9464", "[::1:9464", "127.0.0.1:94x"}) {
    CAPTURE(bad);
    auto args = base;
    args.insert(args.end(), {"--metrics-listen", bad});
    const auto r = run_cli(args);
    CHECK(r.exit_code == 2);
    CHECK(r.err.rfind("streamckpt: --metrics-listen must be HOST:PORT, HOST an IP address and PORT 0 to 65535 "
                      "(127.0.0.1:9464, [::1]:9464), not '" +
                          bad + "'\n",
                      0) == 0);
  }

  // A port another socket holds.
  const int holder = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(holder >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(holder, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(holder, 1) == 0);
  socklen_t length = sizeof addr;
  REQUIRE(::getsockname(holder, reinterpret_cast<sockaddr*>(&addr), &length) == 0);
  const auto port = std::to_string(ntohs(addr.sin_port));
  auto in_use = base;
  in_use.insert(in_use.end(), {"--metrics-listen", "127.0.0.1:" + port});
  const auto r = run_cli(in_use);
  ::close(holder);
  CHECK(r.exit_code == 1);
  CHECK(r.err ==
        "streamckpt: error: --metrics-listen: cannot listen on 127.0.0.1:" + port + ": Address already in use\n");

  auto unwritable = base;
  const auto missing = (dir.path() / "no-such-dir" / "m.prom").string();
  unwritable.insert(unwritable.end(), {"--metrics-file", missing});
  const auto w = run_cli(unwritable);
  CHECK(w.exit_code == 1);
  CHECK(w.err == "streamckpt: error: cannot write --metrics-file " + missing + ": No such file or directory\n");

  auto interval_alone = base;
  interval_alone.insert(interval_alone.end(), {"--metrics-file-ms", "5000"});
  const auto i = run_cli(interval_alone);
  CHECK(i.exit_code == 2);
  CHECK(i.err.rfind("streamckpt: --metrics-file-ms needs --metrics-file\n", 0) == 0);
  CHECK_FALSE(std::filesystem::exists(dir.path() / "d"));
}

TEST_CASE("in group mode a scrape also shows the group's lag and pending entries as Redis counts them") {
  RedisServer redis;
  Client client(redis.port());
  const auto ids = client.produce("s", 1, 12);
  TempDir dir;
  CliProcess cli({"consume", "--redis", redis.url(), "--stream", "s", "--group", "g", "--consumer", "edge-1",
                  "--data-dir", (dir.path() / "d").string(), "--metrics-listen", "127.0.0.1:0"},
                 dir.path());
  const int port = served_port(cli);
  const auto s = scrape_until(port, [&](const auto& m) {
    return m.at("streamckpt_checkpoint_seq") == seq_of(ids.back()) && m.count("streamckpt_group_pending_entries") &&
           m.at("streamckpt_group_pending_entries") == "0" && m.at("streamckpt_xacks_total") == "12";
  });
  CHECK(s.at("streamckpt_info{stream=\"s\",group=\"g\",consumer=\"edge-1\"}") == "1");
  CHECK(s.at("streamckpt_events_total") == "12");
  CHECK(s.at("streamckpt_handled_total") == "12");
  CHECK(s.at("streamckpt_xacks_total") == "12");
  CHECK(s.at("streamckpt_group_pending_entries") == "0");
  CHECK(s.at("streamckpt_group_lag_entries") == "0");
  CHECK(s.at("streamckpt_lag_entries") == "0");
  check_histogram(s, 12);
  cli.signal(SIGTERM);
  CHECK(cli.wait().exit_code == 0);
}
