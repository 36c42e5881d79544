// ConsumerOptions: validate() and start() refuse a duration no deadline can be
// computed from, a size out of range, a bad key or URL, before anything opens.
#include <streamckpt/consumer.hpp>

#include <doctest/doctest.h>
#include <boost/asio/io_context.hpp>

#include <functional>
#include <string>
#include <vector>

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
  consumer.async_start([&](boost::system::error_code ec, ResumeReport) { s.ec = ec; });
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

TEST_CASE("validate() names the first size outside its range, and start() refuses it with the same sentence") {
  struct Size {
    const char* name;
    std::function<std::size_t&(ConsumerOptions&)> of;
    std::size_t min, max;
  };
  const Size sizes[] = {
      {"batch", [](ConsumerOptions& o) -> std::size_t& { return o.batch; }, 1, 100000},
      {"max_in_flight", [](ConsumerOptions& o) -> std::size_t& { return o.max_in_flight; }, 1, 10000000},
      {"flush_events", [](ConsumerOptions& o) -> std::size_t& { return o.flush_events; }, 1, 10000000},
      {"max_deliveries", [](ConsumerOptions& o) -> std::size_t& { return o.max_deliveries; }, 0, 1000000},
  };
  for (const auto& size : sizes) {
    CAPTURE(size.name);
    std::vector<std::size_t> bad{size.max + 1, static_cast<std::size_t>(-1)};
    if (size.min > 0) bad.push_back(size.min - 1);
    for (const auto value : bad) {
      CAPTURE(value);
      auto o = valid_options();
      size.of(o) = value;
      const auto expected = std::string("ConsumerOptions::") + size.name + " must be from " + std::to_string(size.min) +
                            " to " + std::to_string(size.max) + ", not " + std::to_string(value);
      const auto problem = validate(o);
      CHECK(problem.code == errc::invalid_options);
      CHECK(problem.detail == expected);
      const auto s = start(o);
      CHECK(s.ec == errc::invalid_options);
      CHECK(s.detail == expected);
    }
    for (const auto good : {size.min, size.max}) {
      auto o = valid_options();
      size.of(o) = good;
      CHECK(validate(o).code == errc::invalid_url);  // the check after the sizes'
    }
  }
}

TEST_CASE("validate() of good options is empty; a bad key or URL is named") {
  auto o = valid_options();
  o.redis_url = "redis://127.0.0.1:6379/2";
  const auto good = validate(o);
  CHECK_FALSE(good);
  CHECK(good.detail.empty());

  o.key.consumer.clear();
  auto problem = validate(o);
  CHECK(problem.code == errc::invalid_key);
  CHECK(problem.detail == "stream and consumer names must be 1 to 1024 bytes, a group name at most 1024");
  o.key = {"s", std::string(1025, 'g'), "c"};
  CHECK(validate(o).code == errc::invalid_key);

  o = valid_options();
  o.redis_url = "redis://:pw@host:99999";
  problem = validate(o);
  CHECK(problem.code == errc::invalid_url);
  CHECK(problem.detail == "invalid Redis URL 'redis://***@host:99999': port '99999' is not a number from 1 to 65535");
}

TEST_CASE("in Cluster, validate() refuses a stream no key can share a slot with, and a dead-letter stream elsewhere") {
  auto o = valid_options();
  o.redis_url = "redis+cluster://127.0.0.1:7000";
  o.key.stream = "{t1}:events";
  CHECK_FALSE(validate(o));
  o.key.stream = "a}b";
  auto problem = validate(o);
  CHECK(problem.code == errc::invalid_key);
  CHECK(problem.detail ==
        "stream 'a}b' has a '}' but no hash tag: no other key can share its cluster slot, so its checkpoint cannot be "
        "kept beside it in Redis Cluster; rename it, or give it a hash tag");
  o.redis_url = "redis://127.0.0.1:6379";  // one server: any name
  CHECK_FALSE(validate(o));

  o = valid_options();
  o.redis_url = "redis+cluster://127.0.0.1:7000";
  o.key = {"orders", "billing", "edge-7"};
  o.max_deliveries = 3;  // the default dead-letter stream, orders:dead, is in another slot
  problem = validate(o);
  CHECK(problem.code == errc::invalid_options);
  CHECK(problem.detail ==
        "the dead-letter stream 'orders:dead' is in another cluster slot than stream 'orders' (slot 5988, not 105): "
        "name one in the stream's slot, such as '{orders}:dead'");
  o.dead_letter = "{orders}:dead";
  CHECK_FALSE(validate(o));
  o.key.stream = "{t1}:events";  // with a tag, the default is in its slot
  o.dead_letter.clear();
  CHECK_FALSE(validate(o));
}

TEST_CASE("the names before async_start and async_stop still work, deprecated for one release") {
  boost::asio::io_context io;
  auto o = valid_options();
  Consumer consumer(io.get_executor(), o);
  boost::system::error_code started, stopped = errc::stopped;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  consumer.start([&](boost::system::error_code ec, ResumeReport) { started = ec; });
  io.run();
  io.restart();
  consumer.stop([&](boost::system::error_code ec) { stopped = ec; });
#pragma GCC diagnostic pop
  io.run();
  CHECK(started == errc::invalid_url);
  CHECK_FALSE(stopped);
}
