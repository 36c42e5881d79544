// The world of a storage fault test: a real redis-server, a data directory on
// FaultyFs, the ledger of the entries produced, an application coroutine that
// consumes and acks, and helpers to run and wait on an io_context.
//
// Waits are bounded only to turn a hang into a failure: no assertion depends
// on how fast anything is.
#pragma once

#include "faulty_fs.hpp"
#include "redis_server.hpp"

#include <streamckpt/consumer.hpp>
#include <streamckpt/local_store.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace streamckpt::test {

using namespace std::chrono_literals;

inline constexpr auto k_tuple = boost::asio::as_tuple(boost::asio::use_awaitable);
inline constexpr std::size_t k_max_in_flight = 40;  // ConsumerOptions of every test
inline constexpr std::size_t k_batch = 10;

// --- the ledger ---------------------------------------------------------------

std::vector<int> range(int first, int last);
// "exactly once, in order" when handled == first … last; otherwise what is
// wrong, in one comparable sentence.
std::string ledger(const std::vector<int>& handled, int first, int last);
inline const std::string k_exactly_once_in_order = "exactly once, in order";

// --- the rig ----------------------------------------------------------------

// A redis-server, a data directory, the faulty file system (and its Env), and
// the IDs of the entries produced (entry n has ids[n - 1]).
class Rig {
 public:
  explicit Rig(bool group_mode) : group(group_mode) {}

  RedisServer redis;
  Client client{redis.port()};
  TempDir dir;
  std::shared_ptr<FaultyFs> fs = std::make_shared<FaultyFs>();
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
  bool group;
  std::vector<StreamId> ids;
  std::vector<std::string> logs;  // the consumer's log lines

  CheckpointKey key() const { return {"orders", group ? "billing" : "", "edge-7"}; }
  std::string hash_key() const;
  std::filesystem::path data_dir() const { return dir.path() / "ckpt"; }

  // Small batches and in-flight limit, fast retries, FaultyFs as the Env.
  ConsumerOptions options(std::vector<std::string> families = {});

  // Adds entries n = ids.size() + 1 …, count of them.
  void produce(int count);
  StreamId id_of(int n) const { return ids.at(static_cast<std::size_t>(n - 1)); }
  // How many produced entries are at or below `id`.
  int count_upto(StreamId id) const;

  // XPENDING orders billing: the number of pending entries and the lowest.
  std::pair<long long, std::optional<StreamId>> pending();
  // A field of XINFO GROUPS orders, for group "billing".
  std::string group_field(const std::string& field);
  // The Redis copy's id field, or nullopt.
  std::optional<StreamId> redis_copy();
  bool logged(const std::string& needle) const;
};

// Opens the store as a later process would (RocksDB's own file system).
std::unique_ptr<LocalStore> open_store(const std::filesystem::path& dir, std::vector<std::string> families = {});
// The rig's checkpoint as a later process reads it from the local store
// (REQUIREd valid).
Checkpoint local_checkpoint(const Rig& rig);
// Every key and value of a column family.
std::map<std::string, std::string> contents(LocalStore& store, const std::string& family);

// --- running coroutines -----------------------------------------------------------

boost::asio::awaitable<void> sleep_for(std::chrono::milliseconds d);
// Polls `done` every 5 ms for at most `limit`; true once it holds.
boost::asio::awaitable<bool> eventually(std::function<bool()> done, std::chrono::milliseconds limit = 20s);
// Runs `body` on `io` until it completes (or `limit` passes: a hang fails the
// test). Rethrows what the body threw (a failed REQUIRE).
void run(boost::asio::io_context& io, boost::asio::awaitable<void> body, std::chrono::seconds limit = 50s);

// start() (REQUIREd to succeed) and stop(), with the error as a plain value.
boost::asio::awaitable<void> start(Consumer& consumer);
boost::asio::awaitable<boost::system::error_code> stop(Consumer& consumer);
// The next non-empty batch (REQUIREs no error).
boost::asio::awaitable<Batch> next_batch(Consumer& consumer);

// --- the application ----------------------------------------------------------------

// Takes batches from next(), records each entry's number, and acks it —
// plainly, or with one Put per event to the "app" column family
// (transactional ack): key effect_key(event), value the entry's number.
struct App {
  bool transactional = false;
  std::vector<int> handled;
  bool waiting = false;  // inside next() (or waiting for a column family handle)
  int idle_ticks = 0;    // empty batches from next()
  bool done = false;
  boost::system::error_code end;
  int family_missing = 0;  // batches for which column_family("app") returned nullptr
  int acks_refused = 0;
};

int number_of(const Event& e);
std::string effect_key(const Event& e);
rocksdb::WriteBatch effect_of(rocksdb::ColumnFamilyHandle* family, const Event& e);

void spawn_app(const boost::asio::any_io_executor& ex, Consumer& consumer, App& app);
// Waits until consumption is paused by the failing store: the application
// waits in next() and its ledger did not grow across `rounds` more failed
// commits. False when that does not happen within the bound.
boost::asio::awaitable<bool> paused(Consumer& consumer, App& app, std::uint64_t rounds = 3);
// start(), the application until the checkpoint reaches `last`, stop().
boost::asio::awaitable<void> consume_to_the_end(Consumer& consumer, App& app, StreamId last);
// The app family holds exactly one effect per entry at or below `upto`, each
// with its entry's number, and nothing else.
void check_effects(Rig& rig, LocalStore& store, StreamId upto);

}  // namespace streamckpt::test
