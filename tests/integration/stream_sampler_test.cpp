// StreamSampler against a real redis-server: the numbers it reads, a stream
// that is missing or is no stream, a Redis that goes away and comes back.
#include "redis_server.hpp"

#include <streamckpt/stream_sampler.hpp>

#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>

using namespace streamckpt;
using namespace streamckpt::test;

namespace {

struct Sampled {
  boost::system::error_code ec;
  StreamSample sample;
};

Sampled sample_once(boost::asio::io_context& io, StreamSampler& sampler) {
  Sampled out;
  bool done = false;
  sampler.async_sample([&](boost::system::error_code ec, StreamSample s) {
    out = {ec, std::move(s)};
    done = true;
  });
  io.restart();
  while (!done) io.run_one();
  return out;
}

ConsumerOptions options_for(const RedisServer& redis, const std::string& group) {
  ConsumerOptions o;
  o.redis_url = redis.url();
  o.key = {"orders", group, "c1"};
  o.connect_timeout = std::chrono::milliseconds(500);
  return o;
}

}  // namespace

TEST_CASE("a sample gives the stream's length and last ID, and the group's pending count and lag") {
  RedisServer redis;
  Client client(redis.port());
  const auto ids = client.produce("orders", 1, 10);
  client.run({"XGROUP", "CREATE", "orders", "g", "0"});
  client.run({"XREADGROUP", "GROUP", "g", "c1", "COUNT", "4", "STREAMS", "orders", ">"});
  boost::asio::io_context io;
  StreamSampler sampler(io.get_executor(), options_for(redis, "g"));
  const auto r = sample_once(io, sampler);
  REQUIRE_MESSAGE(!r.ec, r.ec.message());
  CHECK(r.sample.stream.exists);
  CHECK(r.sample.stream.length == 10);
  CHECK(r.sample.stream.last_generated.to_string() == ids[9]);
  CHECK(r.sample.stream.entries_added == 10);
  CHECK(r.sample.group_pending == 4);
  CHECK(r.sample.group_lag == 6);

  // Plain mode reads no group.
  StreamSampler plain(io.get_executor(), options_for(redis, ""));
  const auto p = sample_once(io, plain);
  REQUIRE(!p.ec);
  CHECK(p.sample.stream.length == 10);
  CHECK(!p.sample.group_pending);
}

TEST_CASE("a missing stream samples as not existing; a key that is no stream is wrong_type") {
  RedisServer redis;
  Client client(redis.port());
  boost::asio::io_context io;
  StreamSampler sampler(io.get_executor(), options_for(redis, "g"));
  const auto missing = sample_once(io, sampler);
  REQUIRE(!missing.ec);
  CHECK(!missing.sample.stream.exists);
  CHECK(!missing.sample.group_pending);

  client.run({"SET", "orders", "x"});
  CHECK(sample_once(io, sampler).ec == errc::wrong_type);
}

TEST_CASE("a sample fails while Redis is down and succeeds again once it is back; after close() it is stopped") {
  RedisServer redis;
  boost::asio::io_context io;
  StreamSampler sampler(io.get_executor(), options_for(redis, ""));
  {
    Client client(redis.port());
    client.produce("orders", 1, 3);
  }
  REQUIRE(!sample_once(io, sampler).ec);
  redis.kill();
  // The link is found dead (its reply never comes), or the reconnect refused.
  const auto down = sample_once(io, sampler).ec;
  CHECK((down == errc::outcome_unknown || down == errc::connect_failed));
  redis.restart();  // back empty: no persistence
  {
    Client client(redis.port());
    client.produce("orders", 1, 2);
  }
  // The first sample after the restart may still meet the dead link.
  auto again = sample_once(io, sampler);
  if (again.ec) again = sample_once(io, sampler);
  REQUIRE_MESSAGE(!again.ec, again.ec.message());
  CHECK(again.sample.stream.length == 2);

  sampler.close();
  CHECK(sample_once(io, sampler).ec == errc::stopped);
}

TEST_CASE("a malformed URL fails every sample with invalid_url") {
  ConsumerOptions o;
  o.redis_url = "redis://127.0.0.1:notaport";
  o.key = {"orders", "", "c1"};
  boost::asio::io_context io;
  StreamSampler sampler(io.get_executor(), o);
  CHECK(sample_once(io, sampler).ec == errc::invalid_url);
}
