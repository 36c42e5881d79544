// validate(ConsumerOptions): what start() refuses before it opens anything.
#include "redis/checkpoint_store.hpp"
#include "redis/cluster.hpp"
#include "redis/url.hpp"

#include <streamckpt/options.hpp>

#include <fmt/format.h>

namespace streamckpt {

namespace {

// A sentence naming the first duration outside its minimum to
// k_max_option_duration; "" when all are within.
std::string out_of_range_duration(const ConsumerOptions& o) {
  struct Duration {
    const char* name;
    milliseconds value, min;
  };
  // The minimums keep loops from spinning: BLOCK 0 would block forever, a
  // zero backoff or timeout would retry at once, and the lease is renewed
  // every third of its TTL.
  const Duration durations[] = {
      {"block", o.block, milliseconds{1}},
      {"flush_interval", o.flush_interval, milliseconds{0}},
      {"connect_timeout", o.connect_timeout, milliseconds{1}},
      {"command_timeout", o.command_timeout, milliseconds{1}},
      {"reconnect_initial", o.reconnect_initial, milliseconds{1}},
      {"reconnect_max", o.reconnect_max, milliseconds{1}},
      {"startup_timeout", o.startup_timeout == milliseconds::max() ? milliseconds{0} : o.startup_timeout,
       milliseconds{0}},
      {"lease_ttl", o.lease_ttl, k_min_lease_ttl},
      {"claim_idle", o.claim_idle, milliseconds{0}},
  };
  for (const auto& d : durations)
    if (d.value < d.min || d.value > k_max_option_duration)
      return fmt::format("ConsumerOptions::{} must be from {} to {} ms, not {} ms", d.name, d.min.count(),
                         k_max_option_duration.count(), d.value.count());
  return {};
}

// The same for the sizes.
std::string out_of_range_size(const ConsumerOptions& o) {
  struct Size {
    const char* name;
    std::size_t value, min, max;
  };
  const Size sizes[] = {
      {"batch", o.batch, 1, k_batch_limit},
      {"max_in_flight", o.max_in_flight, 1, k_in_flight_limit},
      {"flush_events", o.flush_events, 1, k_in_flight_limit},
      {"max_deliveries", o.max_deliveries, 0, k_deliveries_limit},
  };
  for (const auto& s : sizes)
    if (s.value < s.min || s.value > s.max)
      return fmt::format("ConsumerOptions::{} must be from {} to {}, not {}", s.name, s.min, s.max, s.value);
  return {};
}

// In Cluster, every key a consumer writes must be in its stream's slot: the
// links go to that slot's master only.
Problem check_cluster_names(const ConsumerOptions& o) {
  const auto& stream = o.key.stream;
  if (!redis::slot_keys_possible(stream))
    return {errc::invalid_key,
            fmt::format("stream '{}' has a '}}' but no hash tag: no other key can share its cluster slot, so its "
                        "checkpoint cannot be kept beside it in Redis Cluster; rename it, or give it a hash tag",
                        stream)};
  if (o.max_deliveries == 0) return {};
  const auto dead = o.dead_letter.empty() ? stream + ":dead" : o.dead_letter;
  if (redis::key_slot(dead) == redis::key_slot(stream)) return {};
  const auto same_slot = redis::hash_tag(stream) ? stream + ":dead" : fmt::format("{{{}}}:dead", stream);
  return {errc::invalid_options,
          fmt::format("the dead-letter stream '{}' is in another cluster slot than stream '{}' (slot {}, not {}): "
                      "name one in the stream's slot, such as '{}'",
                      dead, stream, redis::key_slot(dead), redis::key_slot(stream), same_slot)};
}

}  // namespace

Problem validate(const ConsumerOptions& options) {
  if (auto ec = options.key.validate())
    return {ec, fmt::format("stream and consumer names must be 1 to {0} bytes, a group name at most {0}",
                            CheckpointKey::k_max_name_bytes)};
  if (auto bad = out_of_range_duration(options); !bad.empty()) return {errc::invalid_options, std::move(bad)};
  if (auto bad = out_of_range_size(options); !bad.empty()) return {errc::invalid_options, std::move(bad)};
  std::string why;
  const auto url = redis::Url::parse(options.redis_url, &why);
  if (!url) return {url.error(), fmt::format("invalid Redis URL '{}': {}", redis::Url::redact(options.redis_url), why)};
  if (url->scheme == redis::Url::Scheme::cluster) return check_cluster_names(options);
  return {};
}

}  // namespace streamckpt
