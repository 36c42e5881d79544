// The Prometheus text the CLI serves: names, types, the histogram's
// cumulative buckets, label escaping, and counters adding up across consumers.
#include "prometheus.hpp"

#include <doctest/doctest.h>

using namespace streamckpt;
using namespace streamckpt::cli;

namespace {

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos || text.rfind(line + "\n", 0) == 0;
}

}  // namespace

TEST_CASE("counters, the histogram and the gauges appear with their TYPE and exact values") {
  MetricsView v;
  v.key = {"orders", "billing", "edge-7"};
  v.consumer.events = 12;
  v.consumer.acks = 10;
  v.consumer.ack_to_durable_le.fill(10);
  v.consumer.ack_to_durable_le[0] = 3;
  v.consumer.ack_to_durable_count = 10;
  v.consumer.ack_to_durable_sum_us = 2500;
  v.consumer.redis_lag_events = 4;
  v.consumer.redis_lag_ms = 1500;
  v.handled = 10;
  v.started = true;
  v.checkpoint = StreamId(1700000000000, 7);
  v.lag_entries = 2;
  v.lag_seconds = 0.25;
  const auto text = prometheus_text(v);
  CHECK(has_line(text, R"(streamckpt_info{stream="orders",group="billing",consumer="edge-7"} 1)"));
  CHECK(has_line(text, "# TYPE streamckpt_events_total counter"));
  CHECK(has_line(text, "streamckpt_events_total 12"));
  CHECK(has_line(text, "streamckpt_acks_total 10"));
  CHECK(has_line(text, "streamckpt_handled_total 10"));
  CHECK(has_line(text, "# TYPE streamckpt_ack_to_durable_seconds histogram"));
  CHECK(has_line(text, R"(streamckpt_ack_to_durable_seconds_bucket{le="0.0001"} 3)"));
  CHECK(has_line(text, R"(streamckpt_ack_to_durable_seconds_bucket{le="10"} 10)"));
  CHECK(has_line(text, R"(streamckpt_ack_to_durable_seconds_bucket{le="+Inf"} 10)"));
  CHECK(has_line(text, "streamckpt_ack_to_durable_seconds_sum 0.002500"));
  CHECK(has_line(text, "streamckpt_ack_to_durable_seconds_count 10"));
  CHECK(has_line(text, "streamckpt_started 1"));
  CHECK(has_line(text, "streamckpt_checkpoint_ms 1700000000000"));
  CHECK(has_line(text, "streamckpt_checkpoint_seq 7"));
  CHECK(has_line(text, "streamckpt_lag_entries 2"));
  CHECK(has_line(text, "streamckpt_lag_seconds 0.250000"));
  CHECK(has_line(text, "streamckpt_redis_copy_behind_entries 4"));
  CHECK(has_line(text, "streamckpt_redis_copy_behind_seconds 1.500000"));
  CHECK(text.back() == '\n');
}

TEST_CASE("the lag gauges are absent until the stream was sampled") {
  const auto text = prometheus_text(MetricsView{});
  CHECK(text.find("streamckpt_lag_entries") == std::string::npos);
  CHECK(text.find("streamckpt_lag_seconds") == std::string::npos);
  CHECK(has_line(text, "streamckpt_started 0"));
}

TEST_CASE("label values are escaped") {
  MetricsView v;
  v.key = {"a\"b", "c\\d", "e\nf"};
  CHECK(has_line(prometheus_text(v), R"(streamckpt_info{stream="a\"b",group="c\\d",consumer="e\nf"} 1)"));
}

TEST_CASE("counters and the histogram add up across consumers; gauges are the latest's") {
  Metrics first, second;
  first.events = 5;
  first.dead_lettered = 1;
  first.ack_to_durable_le.fill(5);
  first.ack_to_durable_count = 5;
  first.ack_to_durable_sum_us = 50;
  first.redis_lag_events = 9;
  second.events = 3;
  second.ack_to_durable_le.fill(3);
  second.ack_to_durable_count = 3;
  second.ack_to_durable_sum_us = 30;
  second.redis_lag_events = 1;
  const auto sum = add_counters(first, second);
  CHECK(sum.events == 8);
  CHECK(sum.dead_lettered == 1);
  CHECK(sum.ack_to_durable_le[0] == 8);
  CHECK(sum.ack_to_durable_count == 8);
  CHECK(sum.ack_to_durable_sum_us == 80);
  CHECK(sum.redis_lag_events == 1);
}
