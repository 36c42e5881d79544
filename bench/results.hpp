// What one benchmark run measured.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace streamckpt::bench {

struct Percentiles {
  std::uint64_t p50 = 0, p99 = 0, p999 = 0;
};

// The engine's own synced writes (WriteBatch + WAL fdatasync), each timed
// once: the disk at the same moments as the acks, under the same load.
struct SyncTimes {
  std::uint64_t p50 = 0, p99 = 0, max = 0;
};

struct ScenarioResult {
  std::string name;
  std::string error;  // empty: the child ran to its end and reported
  std::uint64_t handled = 0, lost = 0, duplicates = 0, out_of_order = 0, foreign = 0, fsyncs = 0;
  double seconds = 0, events_per_s = 0, ratio_to_raw = 0, fsyncs_per_event = 0;
  double peak_rss_mb = 0, cpu_s = 0;
  double fsyncs_per_s = 0;
  // The many-consumer scenarios: the sum over the consumers of the synced
  // writes that carried their acks (above `fsyncs` when they shared writes).
  std::uint64_t consumer_fsyncs = 0;
  std::optional<Percentiles> ack_to_durable_us;          // none for raw-xreadgroup
  std::optional<Percentiles> library_ack_to_durable_us;  // Consumer::metrics(), engine only
  std::optional<SyncTimes> sync_us;                      // Consumer::metrics(), engine only
  std::string metrics_json;                              // Consumer::metrics().to_json(), engine only
  std::vector<std::string> log;                          // the consumer's log lines

  bool correct() const { return error.empty() && lost == 0 && duplicates == 0 && out_of_order == 0 && foreign == 0; }
};

struct ResumeResult {
  unsigned restarts = 0;
  std::vector<double> ms;      // process start to first event, per restart
  std::uint64_t replayed = 0;  // events handled again after a SIGKILL (at-least-once)
  std::uint64_t skipped = 0;   // entries a restart jumped over: must be 0
  std::uint64_t order_errors = 0;
  std::string error;
  std::vector<std::string> log;

  bool correct() const { return error.empty() && skipped == 0 && order_errors == 0; }
};

struct BenchResults {
  std::string redis;  // what server, for the header
  std::string data_dir;
  std::uint64_t events = 0;
  std::size_t payload_bytes = 0, batch = 0;
  unsigned rounds = 1;  // of the fast scenarios; each row is the median round
  std::size_t fsync_samples = 0;
  unsigned fsync_probes = 0;  // runs of the probe the samples were pooled from
  bool verbose = false;       // print every log line, not only those of failed scenarios
  double fsync_p50_us = 0, fsync_p99_us = 0;
  // The same probe with a spinning thread on each of busy_cpus CPUs.
  double fsync_busy_p50_us = 0, fsync_busy_p99_us = 0;
  unsigned busy_cpus = 0;
  std::vector<ScenarioResult> scenarios;
  // streamckpt-many and streamckpt-many-own; none with --consumers 0.
  std::size_t consumers = 0;
  std::uint64_t many_events_each = 0;
  std::vector<ScenarioResult> many;
  ResumeResult resume;

  bool ok() const {
    for (const auto& s : scenarios)
      if (!s.correct()) return false;
    for (const auto& s : many)
      if (!s.correct()) return false;
    return resume.correct();
  }
};

}  // namespace streamckpt::bench
