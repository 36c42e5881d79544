// The options of `streamckpt consume`, parsed and checked.
#pragma once

#include "metrics_publish.hpp"

#include <streamckpt/options.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace streamckpt::cli {

struct ConsumeSettings {
  ConsumerOptions options;
  std::string sink_spec;
  std::uint64_t max_events = 0;  // 0: no limit
  std::uint64_t idle_exit_ms = 0;
  bool metrics = false;
  std::uint64_t metrics_interval_ms = 0;  // 0: only at exit
  MetricsPublishing publishing;           // --metrics-listen, --metrics-file
};

// Throws UsageError for a missing, unknown or out-of-range option.
ConsumeSettings parse_consume_settings(const std::vector<std::string>& argv);

}  // namespace streamckpt::cli
