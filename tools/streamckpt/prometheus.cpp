#include "prometheus.hpp"

#include <fmt/format.h>

#include <iterator>

namespace streamckpt::cli {
namespace {

struct Counter {
  const char* name;  // without the streamckpt_ prefix and _total suffix
  std::uint64_t Metrics::*field;
  const char* help;
};

// Every counter of Metrics, in its order there.
constexpr Counter k_counters[] = {
    {"events", &Metrics::events, "Events handed to the sink."},
    {"acks", &Metrics::acks, "Acks received."},
    {"commits", &Metrics::commits, "Durable local commits of the checkpoint."},
    {"fsyncs", &Metrics::fsyncs, "Synced writes of the local store (group commits)."},
    {"xacks", &Metrics::xacks, "Entry IDs XACKed (group mode)."},
    {"xack_failures", &Metrics::xack_failures, "Entry IDs whose XACK Redis refused."},
    {"redis_flushes", &Metrics::redis_flushes, "Successful write-throughs of the Redis copy."},
    {"redis_flush_failures", &Metrics::flush_failures, "Failed write-throughs of the Redis copy (retried)."},
    {"reconnects", &Metrics::reconnects, "Reconnects to Redis."},
    {"storage_errors", &Metrics::storage_errors, "Failed local commits (each retried)."},
    {"gaps", &Metrics::gaps, "Gaps found: entries deleted before they were handled."},
    {"gap_entries", &Metrics::gap_entries, "Entries lost in those gaps."},
    {"regressions", &Metrics::regressions, "Streams found behind a checkpoint."},
    {"deleted_pending", &Metrics::deleted_pending, "Pending entries whose payload was deleted."},
    {"stall_pauses", &Metrics::stall_pauses, "Reads held back while a synced write ran long."},
    {"claimed", &Metrics::claimed, "Entries claimed from idle members and handled here."},
    {"claim_xacks", &Metrics::claim_xacks, "Entries of idle members only XACKed (they had been handled)."},
    {"members_removed", &Metrics::members_removed, "Idle group members removed."},
    {"groups_lost", &Metrics::groups_lost, "Times the group was found gone and recreated."},
    {"dead_lettered", &Metrics::dead_lettered, "Entries copied to the dead-letter stream."},
};

std::string label_value(const std::string& text) {
  std::string out;
  for (const char c : text) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out.push_back(c);
  }
  return out;
}

void gauge(std::string& out, const char* name, const char* help, const std::string& value) {
  out += fmt::format("# HELP streamckpt_{0} {1}\n# TYPE streamckpt_{0} gauge\nstreamckpt_{0} {2}\n", name, help, value);
}

std::string seconds(double s) { return fmt::format("{:.6f}", s); }

}  // namespace

Metrics add_counters(const Metrics& total, const Metrics& more) {
  Metrics sum = more;
  for (const auto& c : k_counters) sum.*c.field += total.*c.field;
  for (std::size_t i = 0; i < sum.ack_to_durable_le.size(); ++i) sum.ack_to_durable_le[i] += total.ack_to_durable_le[i];
  sum.ack_to_durable_count += total.ack_to_durable_count;
  sum.ack_to_durable_sum_us += total.ack_to_durable_sum_us;
  return sum;
}

std::string prometheus_text(const MetricsView& v) {
  std::string out;
  out += fmt::format(
      "# HELP streamckpt_info The consumer this process runs.\n# TYPE streamckpt_info gauge\n"
      "streamckpt_info{{stream=\"{}\",group=\"{}\",consumer=\"{}\"}} 1\n",
      label_value(v.key.stream), label_value(v.key.group), label_value(v.key.consumer));
  for (const auto& c : k_counters)
    out +=
        fmt::format("# HELP streamckpt_{0}_total {1}\n# TYPE streamckpt_{0}_total counter\nstreamckpt_{0}_total {2}\n",
                    c.name, c.help, v.consumer.*c.field);
  out += fmt::format(
      "# HELP streamckpt_handled_total Events written to the sink and acked.\n"
      "# TYPE streamckpt_handled_total counter\nstreamckpt_handled_total {}\n",
      v.handled);

  const auto& m = v.consumer;
  out +=
      "# HELP streamckpt_ack_to_durable_seconds Time from an ack to its checkpoint's durable local commit.\n"
      "# TYPE streamckpt_ack_to_durable_seconds histogram\n";
  for (std::size_t i = 0; i < k_ack_to_durable_bounds_us.size(); ++i)
    out += fmt::format("streamckpt_ack_to_durable_seconds_bucket{{le=\"{}\"}} {}\n",
                       static_cast<double>(k_ack_to_durable_bounds_us[i]) / 1e6, m.ack_to_durable_le[i]);
  out += fmt::format("streamckpt_ack_to_durable_seconds_bucket{{le=\"+Inf\"}} {}\n", m.ack_to_durable_count);
  out += fmt::format("streamckpt_ack_to_durable_seconds_sum {}\n",
                     seconds(static_cast<double>(m.ack_to_durable_sum_us) / 1e6));
  out += fmt::format("streamckpt_ack_to_durable_seconds_count {}\n", m.ack_to_durable_count);

  gauge(out, "started", "1 once start-up decided where to resume, 0 before.", v.started ? "1" : "0");
  gauge(out, "checkpoint_ms", "The durable checkpoint's entry ID, its milliseconds part.",
        std::to_string(v.checkpoint.ms()));
  gauge(out, "checkpoint_seq", "The durable checkpoint's entry ID, its sequence part.",
        std::to_string(v.checkpoint.seq()));
  gauge(out, "checkpoint_age_seconds", "Seconds since the durable checkpoint last moved (or since the start).",
        seconds(v.checkpoint_age_seconds));
  if (v.lag_entries)
    gauge(out, "lag_entries", "Entries the stream received after the checkpoint (XINFO STREAM entries-added).",
          std::to_string(*v.lag_entries));
  if (v.lag_seconds)
    gauge(out, "lag_seconds", "How much older the checkpoint's entry is than the stream's newest.",
          seconds(*v.lag_seconds));
  if (v.group_lag_entries)
    gauge(out, "group_lag_entries", "The group's lag as Redis counts it (XINFO GROUPS lag).",
          std::to_string(*v.group_lag_entries));
  if (v.group_pending_entries)
    gauge(out, "group_pending_entries", "Entries delivered to the group's members and not yet XACKed.",
          std::to_string(*v.group_pending_entries));
  gauge(out, "redis_copy_behind_entries", "Entries the Redis copy of the checkpoint trails the local copy by.",
        std::to_string(m.redis_lag_events));
  gauge(out, "redis_copy_behind_seconds", "Seconds the Redis copy has trailed the local copy.",
        seconds(static_cast<double>(m.redis_lag_ms) / 1e3));
  gauge(out, "sync_p99_seconds", "99th percentile of the local store's synced writes.",
        seconds(static_cast<double>(m.sync_p99_us) / 1e6));
  return out;
}

}  // namespace streamckpt::cli
