// The consumer's numbers in the Prometheus text exposition format (version
// 0.0.4), for --metrics-listen and --metrics-file.
#pragma once

#include <streamckpt/checkpoint.hpp>
#include <streamckpt/metrics.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace streamckpt::cli {

// What one exposition shows.
struct MetricsView {
  CheckpointKey key;
  Metrics consumer;                   // summed over the consumers of this run (see add_counters)
  std::uint64_t handled = 0;          // events written to the sink and acked
  bool started = false;               // a consumer's start-up completed (the resume was decided)
  StreamId checkpoint;                // the durable checkpoint (when started)
  double checkpoint_age_seconds = 0;  // since it last moved, or since the start
  // From the last XINFO STREAM: entries the stream received after the
  // checkpoint, and how much older the checkpoint's entry is than the
  // stream's newest; none until one succeeded.
  std::optional<std::uint64_t> lag_entries;
  std::optional<double> lag_seconds;
  // Group mode, from the last XINFO GROUPS: the group's lag as Redis counts
  // it (entries-added minus entries-read; none when Redis cannot tell) and
  // its pending entries, all members together.
  std::optional<std::uint64_t> group_lag_entries;
  std::optional<std::uint64_t> group_pending_entries;
};

// `total` plus `more`: the counters and the histogram add up (a consumer that
// restarts for --on-regressed starts from zero); the gauges are `more`'s.
Metrics add_counters(const Metrics& total, const Metrics& more);

std::string prometheus_text(const MetricsView& view);

}  // namespace streamckpt::cli
