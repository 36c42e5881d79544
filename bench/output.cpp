#include "output.hpp"

#include "child_args.hpp"
#include "histogram.hpp"
#include "json.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <vector>

namespace streamckpt::bench {
namespace {

std::string thousands(double value) {
  auto digits = fmt::format("{:.0f}", value);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

std::string resume_line(const ResumeResult& r) {
  if (r.restarts == 0) return "resume after SIGKILL: skipped (--restarts 0)";
  if (r.ms.empty()) return fmt::format("resume after SIGKILL: FAILED ({})", r.error);
  auto line = fmt::format(
      "resume after SIGKILL ({} restarts, process start to first event): p50 {:.1f} ms, p99 {:.1f} ms; "
      "{} events handled again (at-least-once), {} skipped",
      r.ms.size(), percentile(r.ms, 0.50), percentile(r.ms, 0.99), r.replayed, r.skipped);
  if (r.order_errors) line += fmt::format(", {} out of order", r.order_errors);
  if (!r.error.empty()) line += fmt::format("; FAILED: {}", r.error);
  return line;
}

std::string json_number(double v, int decimals) { return fmt::format("{:.{}f}", v, decimals); }

// A message as a JSON string, or null when there is none.
std::string json_message(const std::string& m) { return m.empty() ? "null" : cli::json_string(m); }

const ScenarioResult* single_consumer(const BenchResults& r) {
  for (const auto& s : r.scenarios)
    if (s.name == k_engine) return &s;
  return nullptr;
}

// The shared store's targets: MiB of peak RSS allowed.
double rss_target_mb(std::size_t consumers) {
  return 32.0 + 100.0 / 1024.0 * static_cast<double>(consumers > 0 ? consumers - 1 : 0);
}

void print_many(std::FILE* out, const BenchResults& r) {
  if (r.many.empty()) return;
  fmt::print(out, "\nmany consumers: {} in one process, one stream each, {} events each (group mode, defaults)\n",
             r.consumers, thousands(static_cast<double>(r.many_events_each)));
  fmt::print(out, "{:<26} {:>10} {:>9} {:>11} {:>7} {:>7} {:>8} {:>5}\n", "scenario", "events/s", "fsyncs/s",
             "fsync/event", "RSS MB", "CPU s", "lost", "dup");
  const auto row = [&](const ScenarioResult& s, const std::string& label) {
    fmt::print(out, "{:<26} {:>10} {:>9} {:>11.4f} {:>7.1f} {:>7.2f} {:>8} {:>5}{}\n", label, thousands(s.events_per_s),
               thousands(s.fsyncs_per_s), s.fsyncs_per_event, s.peak_rss_mb, s.cpu_s, s.lost, s.duplicates,
               s.error.empty() ? "" : "  FAILED");
  };
  for (const auto& s : r.many) row(s, s.name);
  const auto* one = single_consumer(r);
  if (one) row(*one, std::string(k_engine) + " (one consumer)");
  const auto& shared = r.many.front();
  if (shared.fsyncs > 0)
    fmt::print(out, "  {}: {} synced writes carried the acks of {} consumers {} times ({:.1f} consumers a write)\n",
               shared.name, thousands(static_cast<double>(shared.fsyncs)), r.consumers,
               thousands(static_cast<double>(shared.consumer_fsyncs)),
               static_cast<double>(shared.consumer_fsyncs) / static_cast<double>(shared.fsyncs));
  if (!shared.correct() || !one || !one->correct() || one->fsyncs_per_s <= 0 || one->events_per_s <= 0) {
    fmt::print(out, "  targets of {}: not judged, a scenario failed (see the notes)\n", shared.name);
    return;
  }
  const auto met = [](bool yes) { return yes ? "met" : "MISSED"; };
  const auto fsync_ratio = shared.fsyncs_per_s / one->fsyncs_per_s;
  const auto rss_target = rss_target_mb(r.consumers);
  const auto events_ratio = shared.events_per_s / one->events_per_s;
  fmt::print(out, "  targets of {}: fsyncs/s {:.2f}x one consumer's (<= 1.20x): {}\n", shared.name, fsync_ratio,
             met(fsync_ratio <= 1.2));
  fmt::print(out, "    peak RSS {:.1f} MB (<= {:.1f} MB: 32 MB + 100 KB per consumer after the first): {}\n",
             shared.peak_rss_mb, rss_target, met(shared.peak_rss_mb <= rss_target));
  fmt::print(out, "    events/s {:.2f}x one consumer's (>= 1.00x): {}\n", events_ratio, met(events_ratio >= 1.0));
}

std::string json_many_row(const ScenarioResult& s) {
  return fmt::format(
      "{{\"name\": \"{}\", \"events_per_s\": {}, \"fsyncs_per_s\": {}, \"fsyncs_per_event\": {}, \"fsyncs\": {}, "
      "\"consumer_fsyncs\": {}, \"peak_rss_mb\": {}, \"cpu_s\": {}, \"handled\": {}, \"lost\": {}, "
      "\"duplicates\": {}, \"out_of_order\": {}, \"ok\": {}, \"error\": {}}}",
      s.name, json_number(s.events_per_s, 1), json_number(s.fsyncs_per_s, 1), json_number(s.fsyncs_per_event, 6),
      s.fsyncs, s.consumer_fsyncs, json_number(s.peak_rss_mb, 2), json_number(s.cpu_s, 3), s.handled, s.lost,
      s.duplicates, s.out_of_order, s.correct() ? "true" : "false", json_message(s.error));
}

}  // namespace

void print_table(std::FILE* out, const BenchResults& r) {
  fmt::print(out, "streamckpt-bench: {} events, {} B payload, batch {}\n", r.events, r.payload_bytes, r.batch);
  fmt::print(out, "  redis: {}\n  data directory: {}\n", r.redis, r.data_dir);
  fmt::print(out,
             "  fdatasync of a 4 KiB append in the data directory ({}x, before the scenarios and after each of {} "
             "rounds): p50 {:.0f} us, p99 {:.0f} us\n",
             r.fsync_samples, r.fsync_probes - 1, r.fsync_p50_us, r.fsync_p99_us);
  fmt::print(out,
             "  the same while a spinning thread keeps each of the {} CPUs busy (for comparison; the targets use the "
             "one above): p50 {:.0f} us, p99 {:.0f} us\n\n",
             r.busy_cpus, r.fsync_busy_p50_us, r.fsync_busy_p99_us);

  fmt::print(out, "{:<22} {:>10} {:>7} {:>31} {:>11} {:>7} {:>7} {:>8} {:>5}\n", "scenario", "events/s", "x raw",
             "ack-to-durable us p50/p99/p999", "fsync/event", "RSS MB", "CPU s", "lost", "dup");
  for (const auto& s : r.scenarios) {
    const auto latency = s.ack_to_durable_us ? fmt::format("{} / {} / {}", s.ack_to_durable_us->p50,
                                                           s.ack_to_durable_us->p99, s.ack_to_durable_us->p999)
                                             : std::string("-");
    fmt::print(out, "{:<22} {:>10} {:>6.2f}x {:>31} {:>11.4f} {:>7.1f} {:>7.2f} {:>8} {:>5}{}\n", s.name,
               thousands(s.events_per_s), s.ratio_to_raw, latency, s.fsyncs_per_event, s.peak_rss_mb, s.cpu_s, s.lost,
               s.duplicates, s.error.empty() ? "" : "  FAILED");
  }
  std::string syncs;
  for (const auto& s : r.scenarios)
    if (s.sync_us)
      syncs += fmt::format("{}{} {} / {} / {}", syncs.empty() ? "" : ", ", s.name, s.sync_us->p50, s.sync_us->p99,
                           s.sync_us->max);
  if (!syncs.empty())
    fmt::print(out,
               "\nthe engine's own synced writes (WriteBatch + WAL fdatasync) in the same round, "
               "us p50/p99/max:\n  {}\n",
               syncs);
  print_many(out, r);
  fmt::print(out, "\n{}\n", resume_line(r.resume));

  fmt::print(out, "\nnotes:\n");
  if (r.rounds > 1)
    fmt::print(out,
               "  - raw-xreadgroup, streamckpt and streamckpt-plain ran {} interleaved rounds; each row is the\n"
               "    round with the median events/s{} (the other baselines ran once)\n",
               r.rounds, r.rounds % 2 == 0 ? ", the slower middle one" : "");
  fmt::print(out,
             "  - events/s: first read to the last event handled (engine: and durable); ack-to-durable for the\n"
             "    baselines is the time to store their checkpoint (SET reply; write + fsync + rename)\n");
  fmt::print(out, "  - RSS: the child's own peak (VmHWM); CPU: user + system of the child, all threads\n");
  std::vector<const ScenarioResult*> all;
  for (const auto& s : r.scenarios) all.push_back(&s);
  for (const auto& s : r.many) all.push_back(&s);
  for (const auto* each : all) {
    const auto& s = *each;
    if (s.library_ack_to_durable_us)
      fmt::print(out, "  - {}: the library's own ack-to-durable p50/p99/p999: {} / {} / {} us; metrics {}\n", s.name,
                 s.library_ack_to_durable_us->p50, s.library_ack_to_durable_us->p99, s.library_ack_to_durable_us->p999,
                 s.metrics_json);
    if (s.out_of_order || s.foreign)
      fmt::print(out, "  - {}: {} entries out of order, {} entries not from the ledger\n", s.name, s.out_of_order,
                 s.foreign);
    if (!s.error.empty()) fmt::print(out, "  - {} FAILED: {}\n", s.name, s.error);
    if (r.verbose || !s.correct())
      for (const auto& line : s.log) fmt::print(out, "      {} log: {}\n", s.name, line);
  }
  if (r.verbose || !r.resume.correct())
    for (const auto& line : r.resume.log) fmt::print(out, "      resume log: {}\n", line);
  fmt::print(out, "\n{}\n",
             r.ok() ? "correctness: every entry handled exactly once and in order in every scenario"
                    : "correctness: FAILED (see above)");
  std::fflush(out);
}

void write_json(const std::string& path, const BenchResults& r) {
  std::string j = "{\n";
  j += fmt::format("  \"fsync\": {{\"p50_us\": {}, \"p99_us\": {}}},\n", json_number(r.fsync_p50_us, 1),
                   json_number(r.fsync_p99_us, 1));
  j += fmt::format("  \"fsync_cpus_busy\": {{\"p50_us\": {}, \"p99_us\": {}, \"cpus\": {}}},\n",
                   json_number(r.fsync_busy_p50_us, 1), json_number(r.fsync_busy_p99_us, 1), r.busy_cpus);
  j += "  \"scenarios\": [\n";
  for (std::size_t i = 0; i < r.scenarios.size(); ++i) {
    const auto& s = r.scenarios[i];
    const auto lat = s.ack_to_durable_us;
    const auto field = [&](std::uint64_t Percentiles::*m) {
      return lat ? std::to_string((*lat).*m) : std::string("null");
    };
    const auto sync = s.sync_us ? fmt::format("{{\"p50\": {}, \"p99\": {}, \"max\": {}}}", s.sync_us->p50,
                                              s.sync_us->p99, s.sync_us->max)
                                : std::string("null");
    j += fmt::format(
        "    {{\"name\": \"{}\", \"events_per_s\": {}, \"ratio_to_raw\": {}, "
        "\"ack_to_durable_us\": {{\"p50\": {}, \"p99\": {}, \"p999\": {}}}, \"fsyncs_per_event\": {}, "
        "\"peak_rss_mb\": {}, \"cpu_s\": {}, \"lost\": {}, \"duplicates\": {}, \"out_of_order\": {}, "
        "\"sync_us\": {}, \"ok\": {}, \"error\": {}}}{}\n",
        s.name, json_number(s.events_per_s, 1), json_number(s.ratio_to_raw, 3), field(&Percentiles::p50),
        field(&Percentiles::p99), field(&Percentiles::p999), json_number(s.fsyncs_per_event, 6),
        json_number(s.peak_rss_mb, 2), json_number(s.cpu_s, 3), s.lost, s.duplicates, s.out_of_order, sync,
        s.correct() ? "true" : "false", json_message(s.error), i + 1 < r.scenarios.size() ? "," : "");
  }
  j += "  ],\n";
  // The many-consumer scenarios: one object, each scenario on a line of its
  // own (not in "scenarios": they are another kind of run).
  if (r.many.size() == 2)
    j += fmt::format("  \"many\": {{\"consumers\": {}, \"events_each\": {},\n    \"shared\": {},\n    \"own\": {}}},\n",
                     r.consumers, r.many_events_each, json_many_row(r.many[0]), json_many_row(r.many[1]));
  else
    j += "  \"many\": null,\n";
  if (r.resume.ms.empty())
    j += "  \"resume_ms\": {\"p50\": null, \"p99\": null},\n";
  else
    j += fmt::format("  \"resume_ms\": {{\"p50\": {}, \"p99\": {}}},\n", json_number(percentile(r.resume.ms, 0.50), 2),
                     json_number(percentile(r.resume.ms, 0.99), 2));
  j += fmt::format("  \"resume_error\": {},\n", json_message(r.resume.error));
  // Every scenario and the resume cycles were correct: the exit status is 0.
  j += fmt::format("  \"ok\": {}\n", r.ok() ? "true" : "false");
  j += "}\n";

  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << j;
  file.flush();
  if (!file) throw std::runtime_error(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
}

}  // namespace streamckpt::bench
