// The baselines: what users write without this library. A synchronous
// hiredis loop, XREADGROUP COUNT batch, handle, then one XACK per batch; with
// a checkpoint stored after every event (a Redis SET, or a file written to a
// temporary name, fsynced and renamed) or without any.
#include "child_report.hpp"
#include "scenarios.hpp"
#include "sync_redis.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>

namespace streamckpt::bench {
namespace {

using Clock = std::chrono::steady_clock;

class CheckpointStore {
 public:
  virtual ~CheckpointStore() = default;
  virtual void store(std::string_view id) = 0;
  virtual std::uint64_t fsyncs() const { return 0; }
};

class RedisSetStore final : public CheckpointStore {
 public:
  RedisSetStore(SyncRedis& redis, std::string key) : redis_(redis), key_(std::move(key)) {}
  void store(std::string_view id) override {
    const char* argv[] = {"SET", key_.data(), id.data()};
    const std::size_t lengths[] = {3, key_.size(), id.size()};
    expect_ok(*redis_.run(3, argv, lengths), "SET checkpoint");
  }

 private:
  SyncRedis& redis_;
  std::string key_;
};

class FileStore final : public CheckpointStore {
 public:
  explicit FileStore(const std::filesystem::path& dir)
      : path_((dir / "checkpoint").string()), temp_((dir / "checkpoint.tmp").string()) {
    std::filesystem::create_directories(dir);
  }
  void store(std::string_view id) override {
    const int fd = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) fail("open");
    std::string_view rest = id;
    while (!rest.empty()) {
      const auto n = ::write(fd, rest.data(), rest.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        ::close(fd);
        fail("write");
      }
      rest.remove_prefix(static_cast<std::size_t>(n));
    }
    if (::fsync(fd) != 0) {
      ::close(fd);
      fail("fsync");
    }
    ++fsyncs_;
    if (::close(fd) != 0) fail("close");
    if (::rename(temp_.c_str(), path_.c_str()) != 0) fail("rename");
  }
  std::uint64_t fsyncs() const override { return fsyncs_; }

 private:
  [[noreturn]] void fail(const char* what) const {
    throw std::runtime_error(fmt::format("{} {}: {}", what, temp_, std::strerror(errno)));
  }
  std::string path_, temp_;
  std::uint64_t fsyncs_ = 0;
};

// A command's argv as hiredis takes it, built once.
struct Argv {
  explicit Argv(std::vector<std::string> a) : args(std::move(a)) {
    for (const auto& s : args) {
      ptrs.push_back(s.data());
      lengths.push_back(s.size());
    }
  }
  int argc() const { return static_cast<int>(args.size()); }
  std::vector<std::string> args;
  std::vector<const char*> ptrs;
  std::vector<std::size_t> lengths;
};

std::optional<std::uint64_t> seq_of(const redisReply& fields, std::size_t payload_bytes) {
  if (fields.type != REDIS_REPLY_ARRAY || fields.elements != 4) return std::nullopt;
  for (std::size_t i = 0; i < 4; ++i)
    if (fields.element[i]->type != REDIS_REPLY_STRING) return std::nullopt;
  return check_fields(text_of(*fields.element[0]), text_of(*fields.element[1]), text_of(*fields.element[2]),
                      text_of(*fields.element[3]), payload_bytes);
}

}  // namespace

int run_baseline(const ChildArgs& a, const ResultPipe& out) {
  SyncRedis redis(a.redis_url);
  std::unique_ptr<CheckpointStore> checkpoint;
  if (a.scenario == k_redis_set) checkpoint = std::make_unique<RedisSetStore>(redis, a.ckpt_key);
  if (a.scenario == k_file_fsync) checkpoint = std::make_unique<FileStore>(a.dir);

  expect_ok(*redis.run({"XGROUP", "CREATE", a.stream, a.group, "0"}), "XGROUP CREATE");

  const auto count = std::to_string(a.batch);
  const Argv read_blocking(
      {"XREADGROUP", "GROUP", a.group, a.consumer, "COUNT", count, "BLOCK", "1000", "STREAMS", a.stream, ">"});
  // Once every entry is handled: one more read, without blocking, must find
  // nothing (anything it finds is a duplicate).
  const Argv read_tail({"XREADGROUP", "GROUP", a.group, a.consumer, "COUNT", count, "STREAMS", a.stream, ">"});
  std::vector<const char*> ack_argv;
  std::vector<std::size_t> ack_lengths;

  Ledger ledger(a.events);
  Histogram latency;
  ProgressReporter progress(out);
  const auto t0 = Clock::now();
  auto t_last = t0;
  for (;;) {
    const bool tail = ledger.complete();
    const auto& read = tail ? read_tail : read_blocking;
    auto reply = redis.run(read.argc(), read.ptrs.data(), read.lengths.data());
    if (reply->type == REDIS_REPLY_NIL) break;  // nothing more arrived
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 1 || reply->element[0]->elements != 2)
      throw std::runtime_error(fmt::format("XREADGROUP failed: {}", text_of(*reply)));
    const redisReply& entries = *reply->element[0]->element[1];
    if (entries.elements == 0) break;

    ack_argv.assign({"XACK", a.stream.c_str(), a.group.c_str()});
    ack_lengths.assign({4, a.stream.size(), a.group.size()});
    for (std::size_t i = 0; i < entries.elements; ++i) {
      const redisReply& entry = *entries.element[i];
      const redisReply& id = *entry.element[0];
      ledger.record(seq_of(*entry.element[1], a.payload_bytes));
      if (checkpoint) {
        const auto start = Clock::now();
        checkpoint->store(text_of(id));
        latency.record(static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count()));
      }
      ack_argv.push_back(id.str);
      ack_lengths.push_back(id.len);
    }
    auto acked = redis.run(static_cast<int>(ack_argv.size()), ack_argv.data(), ack_lengths.data());
    if (acked->type != REDIS_REPLY_INTEGER || static_cast<std::size_t>(acked->integer) != entries.elements)
      throw std::runtime_error(fmt::format("XACK failed: {}", text_of(*acked)));
    if (!tail) t_last = Clock::now();
    progress.update(ledger.handled());
  }

  ScenarioTotals totals;
  totals.seconds = std::chrono::duration<double>(t_last - t0).count();
  totals.fsyncs = checkpoint ? checkpoint->fsyncs() : 0;
  totals.latency = checkpoint ? &latency : nullptr;
  report_totals(out, ledger, totals);
  return 0;
}

}  // namespace streamckpt::bench
