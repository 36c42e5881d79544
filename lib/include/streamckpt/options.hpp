// ConsumerOptions: everything a Consumer can be told, with its default.
#pragma once

#include <streamckpt/checkpoint.hpp>
#include <streamckpt/error.hpp>
#include <streamckpt/report.hpp>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace rocksdb {
class Env;
}

namespace streamckpt {

using std::chrono::milliseconds;

// Where to start when no valid checkpoint exists.
enum class StartPolicy {
  earliest,  // the stream's first entry (default): lose nothing
  latest,    // only entries added after start-up
  fail,      // refuse to start (errc::no_valid_checkpoint)
};

// What to do when a checkpoint is beyond the stream's last-generated-id (Redis
// lost data, or failed over to a stale replica).
enum class RegressedPolicy {
  first,  // resume from the stream's first entry (default): lose nothing
  head,   // skip to the stream's end
  fail,   // refuse to start (errc::stream_regressed)
};

// The longest duration an option may hold: async_start() fails with
// errc::invalid_options for a longer or a negative one, since a deadline
// computed from it (now + timeout) would overflow the clock. startup_timeout
// may also be milliseconds::max(): retry forever.
inline constexpr milliseconds k_max_option_duration = std::chrono::hours(24 * 365);
// The shortest lease_ttl: the lease is renewed every third of it. block,
// connect_timeout, command_timeout and the reconnect backoff must be at least
// 1 ms (async_start() refuses 0 with errc::invalid_options).
inline constexpr milliseconds k_min_lease_ttl{300};
// The largest sizes an option may hold (validate() refuses more): batch is
// Redis's COUNT, max_in_flight and flush_events bound memory and the Redis
// copy's lag.
inline constexpr std::size_t k_batch_limit = 100000;
inline constexpr std::size_t k_in_flight_limit = 10000000;
inline constexpr std::size_t k_deliveries_limit = 1000000;

struct ConsumerOptions {
  // redis://[user:password@]host[:port][/db], rediss://…, unix:///path[?db=N].
  std::string redis_url = "redis://127.0.0.1:6379";
  // Whose checkpoint: stream, group (empty: plain XREAD), consumer. Required.
  CheckpointKey key{};
  // The local store's directory. Required, unless the consumer is given a
  // Store.
  std::filesystem::path data_dir{};
  // Application column families opened beside "checkpoints", for effects
  // committed with acks (transactional ack). Default: none.
  std::vector<std::string> column_families{};

  StartPolicy start = StartPolicy::earliest;
  RegressedPolicy on_regressed = RegressedPolicy::first;

  // Entries per read (COUNT). Default 100.
  std::size_t batch = 100;
  // Events between read and durable ack (in group mode: and its confirmed
  // XACK, since every commit lists what waits for one), at most; reading
  // pauses beyond it.
  // Durability is the same for any value; what it bounds is how far reading
  // runs ahead of the disk, and so how long an ack waits when a sync stalls
  // (events waiting ~ max_in_flight / rate; async_next() also pauses while a
  // write stalls, see Consumer::async_next()). Default 1000: room for the two
  // batches read ahead, the one being handled and several commits, and at
  // most a few milliseconds of events at full speed. Keep it at three batches
  // or more, or reading cannot run ahead.
  std::size_t max_in_flight = 1000;
  // BLOCK time of each read; async_next() yields an empty batch after this long
  // without entries. Default 1 s.
  milliseconds block{1000};

  // The Redis copy is written through at least this often while it trails the
  // local copy. Default 100 ms; 0 writes after every durable commit. The local
  // copy is durable regardless.
  milliseconds flush_interval{100};
  // ... or as soon as it trails by this many events. Default 1000.
  std::size_t flush_events = 1000;

  milliseconds connect_timeout{2000};  // resolve + connect + AUTH + SELECT
  milliseconds command_timeout{2000};  // per request; a read's BLOCK time is added
  milliseconds reconnect_initial{50};  // backoff: full jitter, doubling from here…
  milliseconds reconnect_max{1000};    // … up to this cap
  // How long async_start() keeps retrying an unreachable Redis, logging each
  // attempt. Default 0: fail at the first error; milliseconds::max(): retry
  // forever. Wrong credentials, bad URLs and WRONGTYPE keys fail at once
  // regardless.
  milliseconds startup_timeout{0};

  // Group mode: hold a lease so that a second instance with the same identity
  // cannot run at the same time. Default on.
  bool fencing = true;
  milliseconds lease_ttl{10000};
  // Wait for the lease instead of failing with errc::lease_held.
  bool wait_lease = false;

  // Group mode: entries pending on another member for longer than this are
  // taken over, as that member is taken for dead: those it recorded as handled
  // (its Redis copy's `unxacked` list) are only XACKed, the others are
  // claimed (XCLAIM with this idle time, so that of two members claiming at
  // once only one gets each entry) and handed out. Members idle this long
  // with no pending entries are removed from the group. Default 60 s; 0 off.
  // Durability is unaffected: a claimed entry is handled and acked as any.
  milliseconds claim_idle{60000};

  // Group mode: an entry handed out this many times without being handled
  // (its handler crashed the process, say) is not handed out again: it is
  // copied to `dead_letter` with its origin and the reason, then XACKed.
  // Counted by the group's members themselves, each time one hands a pending
  // entry out again (in the hash streamckpt:{<stream>}:<group>::deliveries),
  // not by Redis's delivery count, which every replay of a pending list
  // raises. Default 0: off.
  std::size_t max_deliveries = 0;
  // Where those go. Default "": "<stream>:dead".
  std::string dead_letter{};

  // rediss:// files; tls_insecure skips server verification.
  std::string tls_ca{}, tls_cert{}, tls_key{};
  bool tls_insecure = false;

  // Storage fault injection for tests: only the Env's FileSystem is used.
  // Default: RocksDB's.
  rocksdb::Env* env = nullptr;

  // Receives one line per notable event (resume, gap, reconnect, storage
  // error). Called on the consumer's executor. Default: none.
  std::function<void(std::string_view)> log{};

  // Lets the application refuse where start-up resumes before anything is
  // changed for it: called with the report async_start() would return (its
  // group_created, group_moved and *_reseeded still false) once the position
  // is decided, before the group is created or moved, either copy is
  // re-seeded, or a read registers the consumer in the group. Returns "" to go
  // on, or why not: async_start() then fails with errc::start_refused, and
  // error_detail() is that text. The lease, when one was taken, is released
  // by async_stop(). Called on the consumer's executor, again if start-up starts
  // over after a lost link. Default: none.
  std::function<std::string(const ResumeReport&)> check_resume{};
};

// The first thing wrong with `options`, as async_start() would fail with it:
// errc::invalid_key (a stream, group or consumer name), errc::invalid_url, or
// errc::invalid_options (a duration outside its range, see above, batch or
// max_in_flight or flush_events outside 1 to their maximum, max_deliveries
// above its own), with a sentence naming the option and its range. Empty
// when the options are good. Synchronous, no I/O: async_start() calls it first;
// call it to check a configuration before anything is opened. The store's
// part (data_dir, column_families) is checked by async_start().
[[nodiscard]] Problem validate(const ConsumerOptions& options);

}  // namespace streamckpt
