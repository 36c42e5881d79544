// Checkpoint storage failing mid-run: the library (streamckpt::Consumer on an
// io_context, against a real redis-server) over FaultyFs, a RocksDB file
// system that fails Sync, Append or Flush on demand (ENOSPC, EIO) and forgets
// unsynced data on a simulated power loss.
//
// The promise under test: a failed local commit acks nothing, reading pauses
// (in-flight stays full), the commit is retried (reopening the database after
// an I/O error) and consumption resumes once storage is back: every entry is
// handled, in order, exactly once, nothing is XACKed beyond the durable
// checkpoint, and what was reported durable survives a power loss.
//
// Every wait is bounded only to turn a hang into a failure; no assertion
// depends on how fast anything is.
#include "storage_rig.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>

#include <doctest/doctest.h>

#include <rocksdb/db.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

using namespace streamckpt;
using namespace streamckpt::test;
namespace asio = boost::asio;

namespace {

// ---------------------------------------------------------------------------
// Storage failing mid-run.

enum class Op { sync, append, flush };

struct FaultCase {
  std::string name;
  Op op;
  FaultyFs::Error error;
  unsigned kinds;  // FaultyFs::FileKind mask
  bool group;
};

void inject(FaultyFs& fs, const FaultCase& c) {
  switch (c.op) {
    case Op::sync:
      fs.fail_syncs(c.error, c.kinds);
      break;
    case Op::append:
      fs.fail_appends(c.error, c.kinds);
      break;
    case Op::flush:
      fs.fail_flushes(c.error, c.kinds);
      break;
  }
}

struct Observed {
  std::size_t handled_when_paused = 0;
  StreamId durable_when_paused;
};

constexpr int k_before = 60;   // entries handled and durable before the fault
constexpr int k_during = 240;  // entries produced while storage fails

asio::awaitable<void> fail_mid_run(Rig& rig, Consumer& consumer, App& app, const FaultCase& c, Observed& seen) {
  rig.produce(k_before);
  co_await start(consumer);
  spawn_app(co_await asio::this_coro::executor, consumer, app);

  const auto before = rig.id_of(k_before);
  REQUIRE(co_await eventually([&] { return app.handled.size() == k_before && consumer.durable_id() == before; }));
  if (rig.group)  // the durable entries are XACKed
    REQUIRE(co_await eventually([&] { return consumer.metrics().xacks == k_before; }));
  CHECK(consumer.metrics().storage_errors == 0);
  const auto commits_before = consumer.metrics().commits;
  const auto fsyncs_before = consumer.metrics().fsyncs;
  const auto failed_before = rig.fs->failed_syncs() + rig.fs->failed_appends() + rig.fs->failed_flushes();

  // Storage fails; entries keep coming.
  inject(*rig.fs, c);
  rig.produce(k_during);
  const int total = k_before + k_during;

  REQUIRE_MESSAGE(co_await paused(consumer, app), "consumption did not pause: handled ", app.handled.size(),
                  ", storage errors ", consumer.metrics().storage_errors);
  seen.handled_when_paused = app.handled.size();
  seen.durable_when_paused = consumer.durable_id();
  const auto m = consumer.metrics();
  INFO("handled when paused: ", seen.handled_when_paused, "; storage errors: ", m.storage_errors);
  CHECK(rig.fs->failed_syncs() + rig.fs->failed_appends() + rig.fs->failed_flushes() > failed_before);
  CHECK(m.storage_errors >= 3);
  CHECK(m.commits == commits_before);                       // nothing became durable…
  CHECK(m.fsyncs == fsyncs_before);                         // (failed writes are not fsyncs)
  CHECK(consumer.durable_id() == before);                   // … so the checkpoint did not move
  CHECK(seen.handled_when_paused > std::size_t{k_before});  // acked events wait, not durable
  // In-flight stays within max_in_flight (one read may add a batch to a
  // count just below it): no further batches are handed out.
  CHECK(seen.handled_when_paused - k_before <= k_max_in_flight + k_batch - 1);
  CHECK(m.events == seen.handled_when_paused);  // nothing read and held back either
  CHECK(rig.logged("local commit failed"));
  CHECK(rig.logged("injected fault"));
  if (rig.group) {
    // Nothing beyond the durable checkpoint was XACKed: every entry read
    // since is still pending, and the lowest pending entry is the first one
    // after the checkpoint.
    CHECK(m.xacks == k_before);
    const auto [count, low] = rig.pending();
    CHECK(count == static_cast<long long>(seen.handled_when_paused) - k_before);
    REQUIRE(low.has_value());
    CHECK(*low == rig.id_of(k_before + 1));
    // Redis delivered nothing beyond what the application was handed.
    CHECK(rig.group_field("last-delivered-id") == rig.id_of(static_cast<int>(seen.handled_when_paused)).to_string());
    CHECK(rig.group_field("pending") == std::to_string(seen.handled_when_paused - k_before));
  }
  if (const auto copy = rig.redis_copy()) CHECK(*copy <= before);  // the Redis copy is not ahead either
  if (std::getenv("STORAGE_FAULT_VERBOSE")) {
    MESSAGE(c.name, ": paused with ", seen.handled_when_paused, " handled, ", m.storage_errors,
            " storage errors; fs: ", rig.fs->failed_syncs(), " failed syncs, ", rig.fs->failed_appends(),
            " failed appends, ", rig.fs->failed_flushes(), " failed flushes");
    for (std::size_t i = 0; i < rig.logs.size() && i < 12; ++i) MESSAGE(rig.logs[i]);
  }

  // More failed retries change nothing.
  const auto errors = m.storage_errors;
  REQUIRE(co_await eventually([&] { return consumer.metrics().storage_errors >= errors + 5; }));
  CHECK(app.handled.size() == seen.handled_when_paused);
  CHECK(consumer.durable_id() == before);
  CHECK(consumer.metrics().commits == commits_before);
  if (rig.group) CHECK(rig.pending().first == static_cast<long long>(seen.handled_when_paused) - k_before);

  // Storage is back: consumption resumes and catches up.
  rig.fs->heal();
  const auto last = rig.id_of(total);
  const bool caught_up =
      co_await eventually([&] { return app.handled.size() >= std::size_t{total} && consumer.durable_id() == last; });
  CHECK_MESSAGE(caught_up, "after the fault cleared: handled ", app.handled.size(), " of ", total, ", durable ",
                consumer.durable_id().to_string(), ", storage errors ", consumer.metrics().storage_errors);

  const auto stop_ec = co_await stop(consumer);
  CHECK_MESSAGE(!stop_ec, stop_ec.message());
  CHECK(co_await eventually([&] { return app.done; }));
  CHECK(app.end == errc::stopped);
  CHECK(app.acks_refused == 0);

  CHECK(ledger(app.handled, 1, total) == k_exactly_once_in_order);
  CHECK(consumer.durable_id() == last);
  const auto after = consumer.metrics();
  CHECK(after.storage_errors > 0);
  CHECK(after.commits > commits_before);
  CHECK(after.events == std::uint64_t{total});
  if (rig.group) {
    CHECK(after.xacks == std::uint64_t{total});
    const auto [count, low] = rig.pending();
    CHECK(count == 0);
    CHECK(rig.group_field("last-delivered-id") == last.to_string());
  }
  CHECK(rig.redis_copy() == std::optional<StreamId>(last));
}

void storage_fails_mid_run(const FaultCase& c) {
  CAPTURE(c.name);
  Rig rig(c.group);
  Observed seen;
  App app;
  {
    asio::io_context io;
    Consumer consumer(io.get_executor(), rig.options());
    run(io, fail_mid_run(rig, consumer, app, c, seen));
  }
  // What a later process finds: the last entry, synced.
  CHECK(local_checkpoint(rig).id == rig.id_of(k_before + k_during));
}

// ---------------------------------------------------------------------------
// A sync that stalls: the hand-out pauses long before max_in_flight, and
// idle ticks still come.

constexpr int k_stall_total = 25000;
constexpr std::size_t k_stall_in_flight = 20000;

std::uint64_t as_us(std::chrono::steady_clock::duration d) {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(d).count());
}

asio::awaitable<void> stall_mid_run(Rig& rig, Consumer& consumer, App& app) {
  rig.produce(k_stall_total);
  co_await start(consumer);
  spawn_app(co_await asio::this_coro::executor, consumer, app);
  REQUIRE(co_await eventually([&] { return app.handled.size() >= 500; }));

  const auto pauses_before = consumer.metrics().stall_pauses;
  rig.fs->hold_syncs(FaultyFs::wal);
  REQUIRE(co_await eventually([&] { return rig.fs->held_syncs() == 1; }));
  const auto held_since = std::chrono::steady_clock::now();
  // The ledger stops growing, with the application waiting in next().
  bool still = false;
  for (int i = 0; i < 100 && !still; ++i) {
    const auto handled = app.handled.size();
    co_await sleep_for(100ms);
    still = app.waiting && app.handled.size() == handled;
  }
  REQUIRE(still);
  CHECK(rig.fs->held_syncs() == 1);
  CHECK(consumer.metrics().stall_pauses > pauses_before);
  // Reading alone would have let max_in_flight events wait for the sync; the
  // pause lets those wait that the application acks until the write has run
  // beyond the limit (10 ms until 32 writes are timed, then 4x their median):
  // a few hundred here, where a write takes well under a millisecond. How
  // many is what the application acks within that limit, so it grows on a
  // loaded machine (5,000 and more were seen with both CPUs busy): the bound
  // is half of max_in_flight, which reading alone would reach.
  const auto waiting = app.handled.size() - static_cast<std::size_t>(rig.count_upto(consumer.durable_id()));
  CHECK_MESSAGE(waiting < k_stall_in_flight / 2, waiting, " acked events wait for the stalled sync");
  if (std::getenv("STORAGE_FAULT_VERBOSE")) MESSAGE(waiting, " acked events wait for the stalled sync");

  const auto held_for = std::chrono::steady_clock::now() - held_since;
  rig.fs->release_syncs();
  const auto last = rig.id_of(k_stall_total);
  REQUIRE(co_await eventually([&] { return consumer.durable_id() == last; }, 60s));
  // The held write is the longest the committer timed; the median is not.
  const auto m = consumer.metrics();
  CHECK(m.sync_max_us >= as_us(held_for));
  CHECK(m.sync_p99_us <= m.sync_max_us);
  CHECK(m.sync_p50_us <= m.sync_p99_us);
  CHECK(m.sync_p50_us < m.sync_max_us);

  // With nothing left to hand out, idle ticks still come during a stall:
  // counted from when the held write has run for 300 ms, far beyond the limit.
  // One entry, so that no second batch can be held back behind the stall.
  rig.fs->hold_syncs(FaultyFs::wal);
  rig.produce(1);
  REQUIRE(co_await eventually([&] { return app.handled.size() == std::size_t{k_stall_total + 1}; }));
  REQUIRE(co_await eventually([&] { return rig.fs->held_syncs() == 1; }));
  const auto idle_held_since = std::chrono::steady_clock::now();
  co_await sleep_for(300ms);
  const auto ticks_before = app.idle_ticks;
  CHECK(co_await eventually([&] { return app.idle_ticks >= ticks_before + 2; }));
  CHECK(rig.fs->held_syncs() == 1);
  CHECK(consumer.durable_id() == last);
  const auto idle_held_for = std::chrono::steady_clock::now() - idle_held_since;
  rig.fs->release_syncs();
  REQUIRE(co_await eventually([&] { return consumer.durable_id() == rig.id_of(k_stall_total + 1); }));

  CHECK(!co_await stop(consumer));
  // The write times outlive the committer, which stop() closes.
  CHECK(consumer.metrics().sync_max_us >= as_us(std::max(held_for, idle_held_for)));
  CHECK(ledger(app.handled, 1, k_stall_total + 1) == k_exactly_once_in_order);
}

// ---------------------------------------------------------------------------
// Durability: what was reported durable survives a power loss.

constexpr int k_durable_run = 50;

asio::awaitable<void> ack_then_lose_power(Rig& rig, Consumer& consumer, App& app, StreamId& reported) {
  rig.produce(k_durable_run);
  co_await start(consumer);
  spawn_app(co_await asio::this_coro::executor, consumer, app);
  REQUIRE(co_await eventually([&] { return app.handled.size() == k_durable_run; }));
  const auto durable = co_await consumer.async_durable(rig.id_of(k_durable_run), k_tuple);
  REQUIRE_MESSAGE(!std::get<0>(durable), std::get<0>(durable).message());
  reported = consumer.durable_id();
  CHECK(reported == rig.id_of(k_durable_run));
  CHECK(ledger(app.handled, 1, k_durable_run) == k_exactly_once_in_order);
  // (That the power loss really drops unsynced writes is shown by the
  // FaultyFs control test.)
  // No stop(): the consumer is destroyed as a crashed process's would be.
}

// ---------------------------------------------------------------------------
// Transactional ack with storage failing for a while, then a power loss with
// acks in flight, then a second run.

constexpr int k_tx_before = 40, k_tx_during = 160, k_tx_crash = 50;
constexpr int k_tx_total = k_tx_before + k_tx_during + k_tx_crash;

asio::awaitable<void> transactional_first_run(Rig& rig, Consumer& consumer, App& app, StreamId& at_crash) {
  rig.produce(k_tx_before);
  co_await start(consumer);
  spawn_app(co_await asio::this_coro::executor, consumer, app);
  const auto before = rig.id_of(k_tx_before);
  REQUIRE(co_await eventually([&] { return app.handled.size() == k_tx_before && consumer.durable_id() == before; }));

  rig.fs->fail_syncs(FaultyFs::Error::io_error);
  rig.produce(k_tx_during);
  REQUIRE_MESSAGE(co_await paused(consumer, app), "consumption did not pause: handled ", app.handled.size(),
                  ", storage errors ", consumer.metrics().storage_errors);
  CHECK(consumer.durable_id() == before);
  CHECK(app.handled.size() > std::size_t{k_tx_before});
  CHECK(app.handled.size() - k_tx_before <= k_max_in_flight + k_batch - 1);
  // Nothing beyond the checkpoint was XACKed (the application may hold a
  // batch it has not handled yet while it waits for a column family handle).
  if (rig.group) CHECK(rig.pending().first == static_cast<long long>(consumer.metrics().events) - k_tx_before);

  rig.fs->heal();
  const auto healed = rig.id_of(k_tx_before + k_tx_during);
  const bool caught_up = co_await eventually(
      [&] { return app.handled.size() >= std::size_t{k_tx_before + k_tx_during} && consumer.durable_id() == healed; });
  REQUIRE_MESSAGE(caught_up, "after the fault cleared: handled ", app.handled.size(), ", durable ",
                  consumer.durable_id().to_string(), ", storage errors ", consumer.metrics().storage_errors);
  CHECK(consumer.metrics().storage_errors > 0);

  // More entries, handled and acked; then the power goes, durable or not.
  rig.produce(k_tx_crash);
  REQUIRE(co_await eventually([&] { return app.handled.size() >= std::size_t{k_tx_total}; }));
  at_crash = consumer.durable_id();
  CHECK(ledger(app.handled, 1, k_tx_total) == k_exactly_once_in_order);
}

// ---------------------------------------------------------------------------
// A power loss while storage is failing: acked events were in flight, not
// durable; none is lost, and the next run hands out exactly the rest.

constexpr int k_loss_before = 30, k_loss_during = 60;

asio::awaitable<void> lose_power_while_failing(Rig& rig, Consumer& consumer, App& app, StreamId& reported) {
  rig.produce(k_loss_before);
  co_await start(consumer);
  spawn_app(co_await asio::this_coro::executor, consumer, app);
  const auto before = rig.id_of(k_loss_before);
  REQUIRE(co_await eventually([&] { return app.handled.size() == k_loss_before && consumer.durable_id() == before; }));
  rig.fs->fail_syncs(FaultyFs::Error::io_error);
  rig.produce(k_loss_during);
  REQUIRE(co_await paused(consumer, app));
  reported = consumer.durable_id();
  CHECK(reported == before);
  CHECK(app.handled.size() > std::size_t{k_loss_before});
  // No stop(): the consumer is destroyed with its acks in flight.
}

}  // namespace

TEST_CASE("FaultyFs sees RocksDB's WAL syncs, and drop_unsynced_data() loses exactly the unsynced writes") {
  TempDir dir;
  auto fs = std::make_shared<FaultyFs>();
  auto env = rocksdb::NewCompositeEnv(fs);
  rocksdb::Options options;
  options.create_if_missing = true;
  options.env = env.get();
  rocksdb::WriteOptions synced;
  synced.sync = true;
  const rocksdb::WriteOptions unsynced;  // sync = false

  auto open = [&](const std::string& name) {
    rocksdb::DB* raw = nullptr;
    const auto s = rocksdb::DB::Open(options, (dir.path() / name).string(), &raw);
    REQUIRE_MESSAGE(s.ok(), s.ToString());
    return std::unique_ptr<rocksdb::DB>(raw);
  };
  auto get = [](rocksdb::DB& db, const std::string& key) {
    std::string value;
    const auto s = db.Get(rocksdb::ReadOptions(), key, &value);
    REQUIRE((s.ok() || s.IsNotFound()));
    return s.ok() ? std::optional<std::string>(value) : std::nullopt;
  };

  // Every synced write is one sync of the WAL, through this file system.
  auto db = open("power-loss");
  const auto wal_syncs = fs->wal_syncs();
  for (int i = 0; i < 5; ++i) REQUIRE(db->Put(synced, "synced-" + std::to_string(i), "v").ok());
  CHECK(fs->wal_syncs() == wal_syncs + 5);
  REQUIRE(db->Put(unsynced, "unsynced", "v").ok());
  CHECK(fs->wal_syncs() == wal_syncs + 5);
  REQUIRE(db->Close().ok());
  db.reset();

  // The control: without the power loss the unsynced write is there...
  {
    auto control = open("control");
    REQUIRE(control->Put(synced, "synced", "v").ok());
    REQUIRE(control->Put(unsynced, "unsynced", "v").ok());
    REQUIRE(control->Close().ok());
  }
  // (its files are dropped too below, so look now)
  {
    auto control = open("control");
    CHECK(get(*control, "unsynced") == std::optional<std::string>("v"));
    REQUIRE(control->Close().ok());
  }

  // ... and after it, it is gone while every synced write survives.
  const auto wal_files = fs->tracked();
  CHECK(std::any_of(wal_files.begin(), wal_files.end(),
                    [](const auto& t) { return FaultyFs::kind_of(t.path) == FaultyFs::wal && t.size > t.synced; }));
  CHECK(fs->drop_unsynced_data() > 0);
  db = open("power-loss");
  for (int i = 0; i < 5; ++i) CHECK(get(*db, "synced-" + std::to_string(i)) == std::optional<std::string>("v"));
  CHECK(get(*db, "unsynced") == std::nullopt);
}

TEST_CASE("LocalStore: a commit whose WAL sync fails reports store_io; after a reopen commits succeed") {
  for (const auto error : {FaultyFs::Error::no_space, FaultyFs::Error::io_error}) {
    CAPTURE(static_cast<int>(error));
    TempDir dir;
    auto fs = std::make_shared<FaultyFs>();
    auto env = rocksdb::NewCompositeEnv(fs);
    LocalStoreOptions o;
    o.dir = dir.path() / "ckpt";
    o.env = env.get();
    std::string detail;
    auto opened = LocalStore::open(o, &detail);
    REQUIRE_MESSAGE(opened.has_value(), detail);
    auto store = std::move(*opened);
    const CheckpointKey key{"orders", "billing", "edge-7"};
    Checkpoint c{key, StreamId(1, 1), 0, 1, "", 1};
    REQUIRE(!store->commit({c}));

    fs->fail_syncs(error, FaultyFs::wal);
    c.id = StreamId(2, 0);
    detail.clear();
    CHECK(store->commit({c}, nullptr, &detail) == errc::store_io);
    CHECK(detail.find(error == FaultyFs::Error::no_space ? "No space left on device" : "Input/output error") !=
          std::string::npos);
    CHECK(store->read(key).checkpoint->id == StreamId(1, 1));  // the failed write is not visible

    fs->heal();
    REQUIRE(!store->reopen(&detail));
    c.id = StreamId(3, 0);
    CHECK(!store->commit({c}));
    CHECK(store->read(key).checkpoint->id == StreamId(3, 0));
  }
}

TEST_CASE("storage fails mid-run: consumption pauses, nothing is acked early, and it resumes losing nothing") {
  const std::vector<FaultCase> cases = {
      {"WAL and every other file: Sync fails with ENOSPC (group mode)", Op::sync, FaultyFs::Error::no_space,
       FaultyFs::all, true},
      {"WAL and every other file: Sync fails with EIO (group mode)", Op::sync, FaultyFs::Error::io_error, FaultyFs::all,
       true},
      {"the WAL only: Sync fails with EIO (group mode)", Op::sync, FaultyFs::Error::io_error, FaultyFs::wal, true},
      {"WAL and every other file: Append fails with ENOSPC (group mode)", Op::append, FaultyFs::Error::no_space,
       FaultyFs::all, true},
      {"WAL and every other file: Append fails with EIO (plain mode)", Op::append, FaultyFs::Error::io_error,
       FaultyFs::all, false},
      {"the WAL only: Flush fails with EIO (plain mode)", Op::flush, FaultyFs::Error::io_error, FaultyFs::wal, false},
  };
  for (const auto& c : cases) storage_fails_mid_run(c);
}

TEST_CASE("a stalled sync pauses next() long before max_in_flight, idle ticks still come, and no entry is lost") {
  for (const bool group : {true, false}) {
    CAPTURE(group);
    Rig rig(group);
    App app;
    auto options = rig.options();
    options.max_in_flight = k_stall_in_flight;
    asio::io_context io;
    Consumer consumer(io.get_executor(), options);
    // Destroyed before the consumer, also when the test fails or times out:
    // closing the consumer waits for a held sync.
    const std::unique_ptr<FaultyFs, void (*)(FaultyFs*)> release(rig.fs.get(),
                                                                 [](FaultyFs* fs) { fs->release_syncs(); });
    run(io, stall_mid_run(rig, consumer, app), 180s);
  }
}

TEST_CASE("what was reported durable survives a power loss") {
  Rig rig(true);
  App app;
  StreamId reported;
  {
    asio::io_context io;
    Consumer consumer(io.get_executor(), rig.options({"app"}));
    run(io, ack_then_lose_power(rig, consumer, app, reported));
  }                              // destroyed without stop()
  rig.fs->drop_unsynced_data();  // that this really drops data is the FaultyFs control test's job

  auto store = open_store(rig.data_dir(), {"app"});
  const auto copy = store->read(rig.key());
  REQUIRE_MESSAGE(copy.valid(), copy.reason);
  CHECK(copy.checkpoint->id >= reported);
  CHECK(copy.checkpoint->id <= rig.id_of(k_durable_run));
}

TEST_CASE(
    "transactional ack: with syncs failing for a while and a power loss, each effect is stored once with "
    "its checkpoint") {
  Rig rig(true);
  StreamId at_crash;
  App first;
  first.transactional = true;
  {
    asio::io_context io;
    Consumer consumer(io.get_executor(), rig.options({"app"}));
    run(io, transactional_first_run(rig, consumer, first, at_crash));
  }  // destroyed without stop(): a crash, then the power loss
  // A batch handed out while the store was closed found no handle (the
  // application waited for one); the late-ack test below shows this
  // deterministically.
  WARN_MESSAGE(first.family_missing == 0, "column_family(\"app\") returned nullptr for ", first.family_missing,
               " batch(es)");
  CHECK(first.acks_refused == 0);
  rig.fs->drop_unsynced_data();

  StreamId checkpoint;
  {
    auto store = open_store(rig.data_dir(), {"app"});
    const auto copy = store->read(rig.key());
    REQUIRE_MESSAGE(copy.valid(), copy.reason);
    checkpoint = copy.checkpoint->id;
    CHECK(checkpoint >= at_crash);
    CHECK(checkpoint >= rig.id_of(k_tx_before + k_tx_during));  // durable before the last entries came
    CHECK(checkpoint <= rig.id_of(k_tx_total));
    // The checkpoint covers exactly the effects that survived.
    check_effects(rig, *store, checkpoint);
  }

  // The next run handles what the checkpoint does not cover, once more.
  App second;
  second.transactional = true;
  {
    asio::io_context io;
    Consumer consumer(io.get_executor(), rig.options({"app"}));
    run(io, consume_to_the_end(consumer, second, rig.id_of(k_tx_total)));
  }
  CHECK(second.family_missing == 0);
  CHECK(ledger(second.handled, rig.count_upto(checkpoint) + 1, k_tx_total) == k_exactly_once_in_order);
  auto store = open_store(rig.data_dir(), {"app"});
  const auto copy = store->read(rig.key());
  REQUIRE(copy.valid());
  CHECK(copy.checkpoint->id == rig.id_of(k_tx_total));
  check_effects(rig, *store, rig.id_of(k_tx_total));
}

TEST_CASE("a power loss while storage is failing loses no event: the next run hands out exactly the rest") {
  Rig rig(true);
  App first;
  StreamId reported;
  {
    asio::io_context io;
    Consumer consumer(io.get_executor(), rig.options());
    run(io, lose_power_while_failing(rig, consumer, first, reported));
  }  // destroyed without stop(), storage still failing
  rig.fs->drop_unsynced_data();
  rig.fs->heal();

  const StreamId checkpoint = local_checkpoint(rig).id;  // the store closed again before the next run opens it
  const auto handled_first = static_cast<int>(first.handled.size());
  CHECK(ledger(first.handled, 1, handled_first) == k_exactly_once_in_order);
  CHECK(checkpoint >= reported);                  // what was reported durable is there
  CHECK(checkpoint <= rig.id_of(handled_first));  // and nothing that was not handled

  App second;
  {
    asio::io_context io;
    Consumer consumer(io.get_executor(), rig.options());
    run(io, consume_to_the_end(consumer, second, rig.id_of(k_loss_before + k_loss_during)));
  }
  CHECK(ledger(second.handled, rig.count_upto(checkpoint) + 1, k_loss_before + k_loss_during) ==
        "exactly once, in order");
  CHECK(rig.pending().first == 0);
}
