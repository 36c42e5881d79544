#include "bench_run.hpp"

#include "child_process.hpp"
#include "cpu_load.hpp"
#include "embedded_redis.hpp"
#include "fsync_probe.hpp"
#include "histogram.hpp"
#include "interrupt.hpp"
#include "output.hpp"
#include "producer.hpp"
#include "redis_keys.hpp"
#include "runners.hpp"
#include "sync_redis.hpp"
#include "temp_dir.hpp"

#include <fmt/format.h>

#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <random>

namespace streamckpt::bench {
namespace {

std::string server_version(SyncRedis& redis) {
  auto info = redis.run({"INFO", "server"});
  const auto text = std::string(text_of(*info));
  const auto at = text.find("redis_version:");
  if (at == std::string::npos) return "?";
  const auto end = text.find_first_of("\r\n", at);
  return text.substr(at + 14, end - at - 14);
}

// The round with the median events/s; a round that was not correct wins, so
// that no failure hides behind a good round.
ScenarioResult median_round(std::vector<ScenarioResult> rounds) {
  for (auto& r : rounds)
    if (!r.correct()) return std::move(r);
  std::sort(rounds.begin(), rounds.end(),
            [](const ScenarioResult& a, const ScenarioResult& b) { return a.events_per_s < b.events_per_s; });
  // Of an even count, the slower middle round: never flatter the result.
  return std::move(rounds[(rounds.size() - 1) / 2]);
}

std::string fresh_stream_name() {
  std::random_device random;
  return fmt::format("streamckpt-bench:{}-{:08x}", ::getpid(), random());
}

// The --json target is checked before the run, not after minutes of it:
// its directory must exist and be writable, and the path must not be one.
void check_json_target(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  if (fs::is_directory(target)) throw std::runtime_error(fmt::format("--json {}: is a directory", path));
  const auto dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  if (!fs::is_directory(dir))
    throw std::runtime_error(fmt::format("--json {}: directory {} does not exist", path, dir.string()));
  if (::access(dir.c_str(), W_OK) != 0 || (fs::exists(target) && ::access(target.c_str(), W_OK) != 0))
    throw std::runtime_error(fmt::format("--json {}: not writable: {}", path, std::strerror(errno)));
}

}  // namespace

int run_bench(const BenchOptions& o) {
  if (!o.json_path.empty()) check_json_target(o.json_path);
  install_interrupt_handlers();
  const auto exe = self_exe();
  ProgressLine progress;
  BenchResults results;
  results.events = o.events;
  results.payload_bytes = o.payload_bytes;
  results.batch = o.batch;
  results.rounds = o.rounds;
  results.verbose = o.verbose;

  TempDir work("streamckpt-bench");
  results.data_dir = work.path().string();
  std::unique_ptr<EmbeddedRedis> embedded;
  std::string url = o.redis_url;
  if (url.empty()) {
    progress.show("starting redis-server", true);
    embedded = std::make_unique<EmbeddedRedis>();
    url = embedded->url();
  }
  SyncRedis redis(url);
  results.redis =
      fmt::format("{} redis-server {} at {}", embedded ? "embedded" : "existing", server_version(redis), url);
  RedisKeys keys(url, fresh_stream_name());

  // The disk's latency drifts on a shared machine: probe it before the
  // scenarios and again after every round, and pool the samples. Each time
  // also with every CPU busy (information: the reference is the idle probe),
  // first, so that the idle probe then stands between it and a scenario.
  std::vector<double> fsync, fsync_busy;
  auto probe = [&] {
    progress.show("fdatasync latency of the data directory, every CPU busy", true);
    {
      const CpuLoad load;
      results.busy_cpus = load.threads();
      const auto busy = probe_fdatasync(work.path());
      fsync_busy.insert(fsync_busy.end(), busy.begin(), busy.end());
    }
    progress.show("fdatasync latency of the data directory", true);
    const auto samples = probe_fdatasync(work.path());
    fsync.insert(fsync.end(), samples.begin(), samples.end());
    ++results.fsync_probes;
  };
  probe();

  produce(redis, keys.stream(), o.events, o.payload_bytes, [&](std::uint64_t n) {
    check_interrupted();
    progress.show(fmt::format("producing: {}% ({}/{})", n * 100 / o.events, n, o.events));
  });

  ChildArgs base;
  base.redis_url = url;
  base.stream = keys.stream();
  base.consumer = "bench";
  base.events = o.events;
  base.batch = o.batch;
  base.payload_bytes = o.payload_bytes;
  // The fast scenarios run in interleaved rounds, so that a noisy moment on
  // a shared machine hits each of them alike; the slow baselines run once.
  std::map<std::string, std::vector<ScenarioResult>> runs;
  for (unsigned round = 0; round < o.rounds; ++round) {
    std::vector<const char*> names = {k_raw, k_engine, k_engine_plain};
    if (round == 0) names = {k_raw, k_redis_set, k_file_fsync, k_engine, k_engine_plain};
    for (const char* name : names) {
      ChildArgs a = base;
      a.scenario = name;
      // Each round has its own identity: nothing resumes from an earlier one.
      a.consumer = fmt::format("bench-{}", round);
      a.group = a.scenario == k_engine_plain ? "" : fmt::format("bench-{}-{}", name, round);
      a.dir = (work.path() / fmt::format("{}-{}", name, round)).string();
      a.ckpt_key = keys.baseline_checkpoint_key();  // redis-set-per-event runs in round 0 only
      runs[name].push_back(run_scenario(exe, a, progress));
    }
    probe();
  }

  // The many-consumer scenarios, once: --events shared out among streams of
  // their own, one per consumer.
  if (o.consumers > 0) {
    results.consumers = o.consumers;
    results.many_events_each = o.events / o.consumers;
    for (std::size_t i = 0; i < o.consumers; ++i)
      produce(redis, many_stream(keys.stream(), i), results.many_events_each, o.payload_bytes, [&](std::uint64_t) {
        check_interrupted();
        progress.show(fmt::format("producing for {} consumers: {}/{}", o.consumers, i + 1, o.consumers));
      });
    for (const char* name : {k_many_shared, k_many_own}) {
      ChildArgs a = base;
      a.scenario = name;
      a.group = fmt::format("bench-{}", name);
      a.dir = (work.path() / name).string();
      a.events = results.many_events_each * o.consumers;
      a.consumers = o.consumers;
      results.many.push_back(run_scenario(exe, a, progress));
    }
  }

  results.fsync_samples = fsync.size();
  results.fsync_p50_us = percentile(fsync, 0.50);
  results.fsync_p99_us = percentile(fsync, 0.99);
  results.fsync_busy_p50_us = percentile(fsync_busy, 0.50);
  results.fsync_busy_p99_us = percentile(fsync_busy, 0.99);
  for (const char* name : {k_raw, k_redis_set, k_file_fsync, k_engine, k_engine_plain})
    results.scenarios.push_back(median_round(std::move(runs[name])));
  const double raw = results.scenarios.front().events_per_s;
  for (auto& s : results.scenarios) s.ratio_to_raw = raw > 0 ? s.events_per_s / raw : 0;

  ChildArgs resume = base;
  resume.scenario = k_resume;
  resume.group = "bench-resume";
  resume.dir = (work.path() / "resume").string();
  resume.kill_after = resume_kill_after(o);
  results.resume = run_resume(exe, resume, o.restarts, progress);

  progress.clear();
  print_table(stdout, results);
  if (!o.json_path.empty()) write_json(o.json_path, results);
  return results.ok() ? 0 : 1;
}

}  // namespace streamckpt::bench
