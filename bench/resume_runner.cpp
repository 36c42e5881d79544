#include "child_process.hpp"
#include "runners.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <csignal>
#include <optional>

namespace streamckpt::bench {
namespace {

// How long one life may take to make kill_after events durable.
constexpr std::chrono::seconds k_life_limit{60};

struct Life {
  std::optional<std::uint64_t> first_ns, first_seq, max_seq;
  bool ready = false;
  std::string error;
};

// Takes one report of a life; returns true on "ready".
bool take(Life& life, const std::string& line, ResumeResult& r) {
  const auto space = line.find(' ');
  const auto key = line.substr(0, space);
  const auto value = space == std::string::npos ? std::string() : line.substr(space + 1);
  const std::uint64_t n = std::strtoull(value.c_str(), nullptr, 10);
  if (key == "first")
    life.first_ns = n;
  else if (key == "first_seq")
    life.first_seq = n;
  else if (key == "h")
    life.max_seq = std::max<std::uint64_t>(life.max_seq.value_or(0), n);
  else if (key == "ready")
    life.ready = true;
  else if (key == "log")
    r.log.push_back(value);
  else if (key == "order_error") {
    ++r.order_errors;
    r.log.push_back(value);
  } else if (key == "error" && life.error.empty())
    life.error = value;
  return key == "ready";
}

}  // namespace

ResumeResult run_resume(const std::string& exe, const ChildArgs& args, unsigned restarts, ProgressLine& progress) {
  ResumeResult r;
  r.restarts = restarts;
  if (restarts == 0) return r;

  std::optional<std::uint64_t> previous_max;  // the highest seq the previous life handled
  for (unsigned n = 0; n <= restarts; ++n) {
    progress.show(n == 0 ? std::string("resume: putting a checkpoint in place")
                         : fmt::format("resume: restart {}/{}", n, restarts),
                  true);
    ChildProcess child(exe, args.to_argv());
    Life life;
    std::string line;
    for (;;) {
      const auto read = child.read_line(line, k_life_limit);
      if (read == ChildProcess::Read::line) {
        if (take(life, line, r)) break;
        continue;
      }
      if (read == ChildProcess::Read::timeout && life.error.empty())
        life.error = fmt::format("not ready after {} s", k_life_limit.count());
      break;
    }
    child.kill(SIGKILL);
    // What it wrote before it died is still in the pipe.
    while (child.read_line(line, std::chrono::seconds(10)) == ChildProcess::Read::line) take(life, line, r);
    const auto exit = child.wait();
    if (!life.ready && life.error.empty())
      life.error = fmt::format("the consumer {} before it was ready", exit.describe());
    if (!life.error.empty()) {
      r.error = fmt::format("life {}: {}", n, life.error);
      break;
    }
    if (!life.first_ns || !life.first_seq) {
      r.error = fmt::format("life {}: no event was handed out (the stream is exhausted: use more --events)", n);
      break;
    }
    if (n > 0) r.ms.push_back(static_cast<double>(*life.first_ns - child.spawned_ns()) / 1e6);
    const auto expected = previous_max ? *previous_max + 1 : 0;
    if (*life.first_seq > expected)
      r.skipped += *life.first_seq - expected;
    else
      r.replayed += expected - *life.first_seq;
    if (life.max_seq) previous_max = life.max_seq;
  }
  return r;
}

}  // namespace streamckpt::bench
