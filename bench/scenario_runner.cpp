#include "child_process.hpp"
#include "runners.hpp"

#include <fmt/format.h>

#include <charconv>
#include <csignal>
#include <cstdlib>
#include <map>

namespace streamckpt::bench {
namespace {

// Silence from a running child for this long means it hangs.
constexpr std::chrono::seconds k_silence_limit{120};

std::uint64_t number(const std::map<std::string, std::string>& kv, const std::string& key) {
  const auto it = kv.find(key);
  if (it == kv.end()) return 0;
  std::uint64_t v = 0;
  std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
  return v;
}

double real(const std::map<std::string, std::string>& kv, const std::string& key) {
  const auto it = kv.find(key);
  return it == kv.end() ? 0.0 : std::strtod(it->second.c_str(), nullptr);
}

std::optional<Percentiles> percentiles(const std::map<std::string, std::string>& kv, const std::string& prefix) {
  if (!kv.count(prefix + "_p50_us")) return std::nullopt;
  return Percentiles{number(kv, prefix + "_p50_us"), number(kv, prefix + "_p99_us"), number(kv, prefix + "_p999_us")};
}

std::optional<SyncTimes> sync_times(const std::map<std::string, std::string>& kv) {
  if (!kv.count("sync_p50_us")) return std::nullopt;
  return SyncTimes{number(kv, "sync_p50_us"), number(kv, "sync_p99_us"), number(kv, "sync_max_us")};
}

}  // namespace

ScenarioResult run_scenario(const std::string& exe, const ChildArgs& args, ProgressLine& progress) {
  ScenarioResult s;
  s.name = args.scenario;
  progress.show(fmt::format("{}: starting", s.name), true);

  std::map<std::string, std::string> kv;
  ChildProcess child(exe, args.to_argv());
  std::string line;
  for (;;) {
    const auto read = child.read_line(line, k_silence_limit);
    if (read == ChildProcess::Read::eof) break;
    if (read == ChildProcess::Read::timeout) {
      child.kill(SIGKILL);
      s.error = fmt::format("no report for {} s: killed", k_silence_limit.count());
      break;
    }
    const auto space = line.find(' ');
    const auto key = line.substr(0, space);
    auto value = space == std::string::npos ? std::string() : line.substr(space + 1);
    if (key == "progress") {
      const auto n = std::strtoull(value.c_str(), nullptr, 10);
      progress.show(fmt::format("{}: {}% ({}/{})", s.name, n * 100 / args.events, n, args.events));
    } else if (key == "log") {
      s.log.push_back(std::move(value));
    } else if (key == "error") {
      if (s.error.empty()) s.error = std::move(value);
    } else {
      kv[key] = std::move(value);
    }
  }
  const auto exit = child.wait();
  s.cpu_s = exit.cpu_s;
  if (s.error.empty() && !exit.clean()) s.error = fmt::format("the child {}", exit.describe());
  if (s.error.empty() && !kv.count("done")) s.error = "the child reported no result";

  s.handled = number(kv, "handled");
  s.lost = kv.count("done") ? number(kv, "lost") : args.events;
  s.duplicates = number(kv, "duplicates");
  s.out_of_order = number(kv, "out_of_order");
  s.foreign = number(kv, "foreign");
  s.fsyncs = number(kv, "fsyncs");
  s.seconds = real(kv, "seconds");
  const auto distinct = static_cast<double>(args.events - s.lost);
  s.events_per_s = s.seconds > 0 ? distinct / s.seconds : 0;
  s.consumer_fsyncs = number(kv, "consumer_fsyncs");
  s.fsyncs_per_s = s.seconds > 0 ? static_cast<double>(s.fsyncs) / s.seconds : 0;
  s.fsyncs_per_event = s.handled ? static_cast<double>(s.fsyncs) / static_cast<double>(s.handled) : 0;
  const auto rss_kib = number(kv, "rss_kib");
  s.peak_rss_mb = rss_kib ? static_cast<double>(rss_kib) / 1024.0 : exit.maxrss_mb;
  s.ack_to_durable_us = percentiles(kv, "latency");
  s.library_ack_to_durable_us = percentiles(kv, "lib_latency");
  s.sync_us = sync_times(kv);
  if (auto it = kv.find("metrics"); it != kv.end()) s.metrics_json = it->second;
  if (auto it = kv.find("ack_rejected"); it != kv.end() && s.error.empty())
    s.error = fmt::format("the consumer rejected {} acks", it->second);
  return s;
}

}  // namespace streamckpt::bench
