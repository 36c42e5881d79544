// ConsumerOptions: start() refuses a duration no deadline can be computed
// from, before it opens anything.
#include <streamckpt/consumer.hpp>

#include <doctest/doctest.h>
#include <boost/asio/io_context.hpp>

#include <functional>
#include <string>

using namespace streamckpt;

namespace {

struct Started {
  boost::system::error_code ec;
  std::string detail;
};

Started start(const ConsumerOptions& options) {
  boost::asio::io_context io;
  Consumer consumer(io.get_executor(), options);
  Started s;
  consumer.start([&](boost::system::error_code ec, ResumeReport) { s.ec = ec; });
  io.run();
  s.detail = consumer.error_detail();
  return s;
}

ConsumerOptions valid_options() {
  ConsumerOptions o;
  o.key = {"s", "g", "c"};
  o.data_dir = "/nonexistent/streamckpt-consumer-options-test";
  // Refused after the durations are checked, before anything is opened.
  o.redis_url = "bogus://";
  return o;
}

struct Field {
  const char* name;
  std::function<milliseconds&(ConsumerOptions&)> of;
  milliseconds min;
};

const Field k_fields[] = {
    {"block", [](ConsumerOptions& o) -> milliseconds& { return o.block; }, milliseconds(1)},
    {"flush_interval", [](ConsumerOptions& o) -> milliseconds& { return o.flush_interval; }, milliseconds(0)},
    {"connect_timeout", [](ConsumerOptions& o) -> milliseconds& { return o.connect_timeout; }, milliseconds(1)},
    {"command_timeout", [](ConsumerOptions& o) -> milliseconds& { return o.command_timeout; }, milliseconds(1)},
    {"reconnect_initial", [](ConsumerOptions& o) -> milliseconds& { return o.reconnect_initial; }, milliseconds(1)},
    {"reconnect_max", [](ConsumerOptions& o) -> milliseconds& { return o.reconnect_max; }, milliseconds(1)},
    {"startup_timeout", [](ConsumerOptions& o) -> milliseconds& { return o.startup_timeout; }, milliseconds(0)},
    {"lease_ttl", [](ConsumerOptions& o) -> milliseconds& { return o.lease_ttl; }, milliseconds(300)},
};

}  // namespace

TEST_CASE("the longest option duration is 365 days") { CHECK(k_max_option_duration == milliseconds(31536000000)); }

TEST_CASE("start() refuses a duration below its minimum or over k_max_option_duration, naming it and the range") {
  for (const auto& field : k_fields) {
    for (const auto bad : {field.min - milliseconds(1), milliseconds(-1), k_max_option_duration + milliseconds(1),
                           milliseconds(10000000000000), milliseconds::min()}) {
      CAPTURE(field.name);
      CAPTURE(bad.count());
      auto o = valid_options();
      field.of(o) = bad;
      const auto s = start(o);
      CHECK(s.ec == errc::invalid_options);
      CHECK(s.detail == std::string("ConsumerOptions::") + field.name + " must be from " +
                            std::to_string(field.min.count()) + " to 31536000000 ms, not " +
                            std::to_string(bad.count()) + " ms");
    }
  }
}

TEST_CASE("start() takes every duration from its minimum to k_max_option_duration, and startup_timeout max()") {
  for (const bool at_min : {true, false}) {
    auto o = valid_options();
    for (const auto& field : k_fields) field.of(o) = at_min ? field.min : k_max_option_duration;
    const auto s = start(o);
    CHECK(s.ec == errc::invalid_url);  // the check after the durations'
  }
  auto o = valid_options();
  o.startup_timeout = milliseconds::max();
  CHECK(start(o).ec == errc::invalid_url);
}
