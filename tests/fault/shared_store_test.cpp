// One Store shared by several consumers of a process: each consumer its own
// stream and key, all of them committing through the store's one RocksDB and
// its one committer thread, against a real redis-server, over FaultyFs.
//
// The promise under test: every consumer hands out exactly its own stream,
// once and in order; acks of several consumers that arrive during a sync
// share the next synced write; a write that fails, or an effect that a write
// would reject, fails only the consumer it came from; transactional acks and
// their checkpoints stay per consumer across a restart; the store refuses a
// second consumer with the same key and options that disagree with it; and
// `streamckpt checkpoint list` shows every consumer's checkpoint.
//
// Every wait is bounded only to turn a hang into a failure; no assertion
// depends on how fast anything is.
#include "cli.hpp"
#include "local/store_impl.hpp"
#include "storage_rig.hpp"

#include <streamckpt/store.hpp>

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>

#include <doctest/doctest.h>

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using namespace streamckpt;
using namespace streamckpt::test;
namespace asio = boost::asio;

namespace {

// One consumer of the shared store: its stream, its key (group mode for the
// even lanes, plain XREAD for the odd ones), the IDs produced to its stream
// (entry n has ids[n - 1]) and the entry numbers it handled.
struct Lane {
  std::string stream;
  CheckpointKey key;
  std::vector<StreamId> ids;
  std::vector<int> handled;
  std::unique_ptr<Consumer> consumer;
  StreamId last() const { return ids.back(); }
};

// A Rig (redis-server, data directory, FaultyFs) with one Store in its data
// directory and `count` lanes on it. Declared in destruction order: the
// consumers go before the store, the io_context after them.
struct Shared {
  explicit Shared(int count, std::vector<std::string> families = {}) : families_(std::move(families)) {
    for (int i = 0; i < count; ++i) {
      Lane lane;
      lane.stream = fmt::format("orders-{}", i);
      lane.key = {lane.stream, i % 2 == 0 ? "billing" : "", "edge-7"};
      lanes.push_back(std::move(lane));
    }
  }

  Rig rig{true};
  asio::io_context io;
  std::shared_ptr<Store> store;
  std::vector<Lane> lanes;

  // Opens the store (on FaultyFs) and makes every lane's consumer on it.
  void open() {
    StoreOptions o;
    o.dir = rig.data_dir();
    o.column_families = families_;
    o.env = rig.env.get();
    std::string detail;
    auto opened = Store::open(o, &detail);
    INFO("Store::open: ", detail);
    REQUIRE(opened.has_value());
    store = std::move(*opened);
    for (auto& lane : lanes) lane.consumer = std::make_unique<Consumer>(io.get_executor(), store, options(lane));
  }

  // The rig's options for `lane`, without what the store decides (its
  // directory and Env).
  ConsumerOptions options(const Lane& lane) {
    auto o = rig.options(families_);
    o.key = lane.key;
    o.data_dir.clear();
    o.env = nullptr;
    return o;
  }

  void produce(Lane& lane, int count) {
    for (const auto& id : rig.client.produce(lane.stream, static_cast<int>(lane.ids.size()) + 1, count)) {
      const auto parsed = StreamId::parse(id);
      REQUIRE(parsed.has_value());
      lane.ids.push_back(*parsed);
    }
  }

  bool all_durable() const {
    return std::all_of(lanes.begin(), lanes.end(), [](const Lane& l) { return l.consumer->durable_id() == l.last(); });
  }

  std::uint64_t fsyncs_of_consumers() const {
    std::uint64_t sum = 0;
    for (const auto& lane : lanes) sum += lane.consumer->metrics().fsyncs;
    return sum;
  }

 private:
  std::vector<std::string> families_;
};

// Takes the next `count` events from the lane's consumer without acking
// them, recording their numbers.
asio::awaitable<std::vector<Event>> take(Lane& lane, std::size_t count) {
  std::vector<Event> events;
  while (events.size() < count) {
    for (auto& event : co_await next_batch(*lane.consumer)) {
      lane.handled.push_back(number_of(event));
      events.push_back(std::move(event));
    }
  }
  REQUIRE(events.size() == count);
  co_return events;
}

// Lets what the executor has queued so far run (the acks' commit
// submissions among it).
asio::awaitable<void> settle() { co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable); }

asio::awaitable<void> stop_all(Shared& s) {
  for (auto& lane : s.lanes) {
    const auto ec = co_await stop(*lane.consumer);
    CHECK_MESSAGE(!ec, lane.stream, ": ", ec.message());
  }
}

// Destroys the consumers and closes the store, then opens it as a later
// process would: each lane's checkpoint is its last entry.
std::unique_ptr<LocalStore> reopen_and_check(Shared& s, std::vector<std::string> families = {}) {
  for (auto& lane : s.lanes) lane.consumer.reset();
  s.store.reset();
  auto store = open_store(s.rig.data_dir(), std::move(families));
  for (const auto& lane : s.lanes) {
    INFO(lane.key.describe());
    const auto copy = store->read(lane.key);
    REQUIRE(copy.valid());
    CHECK(copy.checkpoint->id == lane.last());
  }
  return store;
}

// ---------------------------------------------------------------------------
// Group commit across consumers.

constexpr int k_taken = 30;  // below k_max_in_flight: all of them are handed out before any is acked

asio::awaitable<void> four_consumers_one_write(Shared& s, std::uint64_t& store_fsyncs, std::uint64_t& consumer_fsyncs,
                                               std::uint64_t& wal_syncs) {
  std::vector<std::vector<Event>> taken;
  for (auto& lane : s.lanes) {
    co_await start(*lane.consumer);
    taken.push_back(co_await take(lane, k_taken));
  }

  // Lane 0's first ack is in a synced write that does not complete; every
  // other ack of every lane arrives meanwhile.
  s.rig.fs->hold_syncs();
  REQUIRE_FALSE(s.lanes[0].consumer->ack(taken[0][0]));
  REQUIRE(co_await eventually([&] { return s.rig.fs->held_syncs() == 1; }));
  const auto store_before = s.store->fsyncs();
  const auto consumers_before = s.fsyncs_of_consumers();
  const auto wal_before = s.rig.fs->wal_syncs();
  for (std::size_t i = 0; i < s.lanes.size(); ++i)
    for (std::size_t k = i == 0 ? 1 : 0; k < taken[i].size(); ++k) REQUIRE_FALSE(s.lanes[i].consumer->ack(taken[i][k]));
  co_await settle();
  CHECK(s.store->fsyncs() == store_before);  // nothing completes while the sync is held
  s.rig.fs->release_syncs();

  REQUIRE(co_await eventually([&] { return s.all_durable(); }));
  store_fsyncs = s.store->fsyncs() - store_before;
  consumer_fsyncs = s.fsyncs_of_consumers() - consumers_before;
  wal_syncs = s.rig.fs->wal_syncs() - wal_before;
  co_await stop_all(s);
}

TEST_CASE(
    "four consumers of one store: each handles its own stream once, in order; their acks share one synced write") {
  Shared s(4);
  for (auto& lane : s.lanes) s.produce(lane, k_taken);
  s.open();
  std::uint64_t store_fsyncs = 0, consumer_fsyncs = 0, wal_syncs = 0;
  run(s.io, four_consumers_one_write(s, store_fsyncs, consumer_fsyncs, wal_syncs));

  for (const auto& lane : s.lanes) {
    INFO(lane.stream);
    CHECK(ledger(lane.handled, 1, k_taken) == k_exactly_once_in_order);
    CHECK(lane.consumer->metrics().storage_errors == 0);
  }
  // The held write carried lane 0's first ack; the next one, everything
  // the four lanes acked meanwhile: two synced writes (two WAL syncs), one
  // for one consumer and one for all four.
  CHECK(store_fsyncs == 2);
  CHECK(wal_syncs == 2);
  CHECK(consumer_fsyncs == 1 + 4);

  std::uint64_t sum = 0;
  for (const auto& lane : s.lanes) sum += lane.consumer->metrics().fsyncs;
  CHECK(sum > s.store->fsyncs());

  reopen_and_check(s);
}

// ---------------------------------------------------------------------------
// One consumer's failures are its own.

// Lane 0 acks its first entry with a Merge (the store opens its families
// without a merge operator, so RocksDB rejects any write that carries one,
// and refuses every write after it until the database is reopened); lane 1
// consumes its stream meanwhile.
asio::awaitable<void> merge_beside_another(Shared& s, bool& merge_accepted) {
  for (auto& lane : s.lanes) co_await start(*lane.consumer);
  auto& bad = s.lanes[0];
  auto& good = s.lanes[1];
  const auto first = co_await take(bad, 5);
  rocksdb::WriteBatch merge;
  REQUIRE(merge.Merge(bad.consumer->column_family("app"), effect_key(first[0]), "1").ok());
  const auto refused = bad.consumer->ack(first[0], std::move(merge));
  merge_accepted = !refused;
  CHECK(refused == errc::effects_refused);

  const auto events = co_await take(good, 10);
  for (const auto& e : events) REQUIRE_FALSE(good.consumer->ack(e));
  CHECK_MESSAGE(co_await eventually([&] { return good.consumer->durable_id() == good.last(); }, 5s),
                "the other consumer's acks never became durable");
  CHECK(good.consumer->metrics().storage_errors == 0);
  if (merge_accepted) co_return;  // every commit fails, stop() would wait for ever: destroy instead

  // Refused and kept nothing: the same entry acked with a Put goes through.
  for (const auto& e : first) REQUIRE_FALSE(bad.consumer->ack(e, effect_of(bad.consumer->column_family("app"), e)));
  CHECK(co_await eventually([&] { return bad.consumer->durable_id() == bad.last(); }));
  CHECK(bad.consumer->metrics().storage_errors == 0);
  co_await stop_all(s);
}

TEST_CASE("an effect a write would reject (a Merge) is refused by ack(), and the store's other consumers go on") {
  Shared s(2, {"app"});
  s.produce(s.lanes[0], 5);
  s.produce(s.lanes[1], 10);
  s.open();
  bool merge_accepted = true;
  run(s.io, merge_beside_another(s, merge_accepted));
  CHECK_MESSAGE(!merge_accepted, "ack() took a Merge: every later write of the store fails");
  if (merge_accepted) return;
  CHECK(ledger(s.lanes[0].handled, 1, 5) == k_exactly_once_in_order);
  CHECK(ledger(s.lanes[1].handled, 1, 10) == k_exactly_once_in_order);

  // The app family holds lane 0's Puts, one per entry, and no trace of the
  // Merge.
  const auto store = reopen_and_check(s, {"app"});
  std::map<std::string, std::string> expected;
  for (int n = 1; n <= 5; ++n) {
    Event e;
    e.id = s.lanes[0].ids.at(static_cast<std::size_t>(n - 1));
    expected[effect_key(e)] = std::to_string(n);
  }
  CHECK(contents(*store, "app") == expected);
}

// Lane 0's next write fails its WAL sync (and lane 0 retries, reopening the
// database); lane 1 has nothing to commit meanwhile, then goes on.
asio::awaitable<void> failed_write_beside_idle(Shared& s, std::uint64_t& idle_errors_during) {
  for (auto& lane : s.lanes) {
    co_await start(*lane.consumer);
    for (const auto& e : co_await take(lane, 10)) REQUIRE_FALSE(lane.consumer->ack(e));
  }
  REQUIRE(co_await eventually([&] { return s.all_durable(); }));
  auto& failing = s.lanes[0];
  auto& idle = s.lanes[1];

  s.rig.fs->fail_syncs(FaultyFs::Error::io_error, FaultyFs::wal, 1);
  s.produce(failing, 10);
  for (const auto& e : co_await take(failing, 10)) REQUIRE_FALSE(failing.consumer->ack(e));
  REQUIRE(co_await eventually([&] { return failing.consumer->durable_id() == failing.last(); }));
  CHECK(failing.consumer->metrics().storage_errors == 1);
  CHECK(s.rig.fs->failed_syncs() == 1);
  idle_errors_during = idle.consumer->metrics().storage_errors;
  CHECK(idle.consumer->durable_id() == idle.ids.at(9));

  s.produce(idle, 10);
  for (const auto& e : co_await take(idle, 10)) REQUIRE_FALSE(idle.consumer->ack(e));
  REQUIRE(co_await eventually([&] { return idle.consumer->durable_id() == idle.last(); }));
  CHECK(idle.consumer->metrics().storage_errors == 0);
  co_await stop_all(s);
}

TEST_CASE("a consumer's failed write and its reopen of the store cost another consumer of the store nothing") {
  Shared s(2);
  for (auto& lane : s.lanes) s.produce(lane, 10);
  s.open();
  std::uint64_t idle_errors_during = 1;
  run(s.io, failed_write_beside_idle(s, idle_errors_during));
  CHECK(idle_errors_during == 0);
  for (const auto& lane : s.lanes) {
    INFO(lane.stream);
    CHECK(ledger(lane.handled, 1, 20) == k_exactly_once_in_order);
  }
  reopen_and_check(s);
}

// Lane 0's first ack is in a write whose WAL sync fails once; lane 0's
// later acks and lane 1's wait behind it, and go into the next write.
asio::awaitable<void> failed_write_of_two(Shared& s, std::vector<std::uint64_t>& errors) {
  std::vector<std::vector<Event>> taken;
  for (auto& lane : s.lanes) {
    co_await start(*lane.consumer);
    taken.push_back(co_await take(lane, 10));
  }
  s.rig.fs->hold_syncs();
  REQUIRE_FALSE(s.lanes[0].consumer->ack(taken[0][0]));
  REQUIRE(co_await eventually([&] { return s.rig.fs->held_syncs() == 1; }));
  for (std::size_t i = 0; i < s.lanes.size(); ++i)
    for (std::size_t k = i == 0 ? 1 : 0; k < taken[i].size(); ++k) REQUIRE_FALSE(s.lanes[i].consumer->ack(taken[i][k]));
  co_await settle();
  s.rig.fs->fail_syncs(FaultyFs::Error::io_error, FaultyFs::wal, 1);
  s.rig.fs->release_syncs();

  REQUIRE(co_await eventually([&] { return s.all_durable(); }));
  for (const auto& lane : s.lanes) errors.push_back(lane.consumer->metrics().storage_errors);
  co_await stop_all(s);
}

TEST_CASE("a failed write fails the consumers whose acks it carried; each retries on its own and loses nothing") {
  Shared s(2);
  for (auto& lane : s.lanes) s.produce(lane, 10);
  s.open();
  std::vector<std::uint64_t> errors;
  run(s.io, failed_write_of_two(s, errors));
  CHECK(s.rig.fs->failed_syncs() == 1);
  REQUIRE(errors.size() == 2);
  // Lane 0's write failed; lane 1's acks were in the next write, which
  // RocksDB refuses until lane 0's retry has reopened the database, unless
  // that retry came first.
  CHECK(errors[0] == 1);
  CHECK(errors[1] <= 1);
  for (const auto& lane : s.lanes) {
    INFO(lane.stream);
    CHECK(ledger(lane.handled, 1, 10) == k_exactly_once_in_order);
  }
  reopen_and_check(s);
}

// Lane 0's ack is in a write that stalls; lane 1, with nothing of its own
// in that write (and in plain mode: no XACK wakes it either), asks for its
// next batch meanwhile and is held back.
asio::awaitable<void> stalled_by_another(Shared& s, bool& handed_out) {
  auto& writer = s.lanes[0];
  auto& reader = s.lanes[1];
  for (auto& lane : s.lanes) co_await start(*lane.consumer);
  for (const auto& e : co_await take(reader, k_batch)) REQUIRE_FALSE(reader.consumer->ack(e));
  REQUIRE(co_await eventually([&] { return reader.consumer->durable_id() == reader.ids.at(k_batch - 1); }));
  const auto written = co_await take(writer, k_batch);

  auto& committer = *s.store->impl().committer;
  s.rig.fs->hold_syncs();
  REQUIRE_FALSE(writer.consumer->ack(written[0]));
  REQUIRE(co_await eventually([&] { return committer.stalled(); }));
  bool returned = false;
  Batch batch;
  asio::co_spawn(
      co_await asio::this_coro::executor,
      [&]() -> asio::awaitable<void> {
        batch = co_await next_batch(*reader.consumer);
        returned = true;
      },
      asio::detached);
  REQUIRE(co_await eventually([&] { return reader.consumer->metrics().stall_pauses == 1; }));
  CHECK(!returned);
  s.rig.fs->release_syncs();

  handed_out = co_await eventually([&] { return returned; }, 5s);
  if (!handed_out) co_return;  // stop() would wait for the held-back next() for ever: destroy instead
  for (const auto& e : batch) {
    reader.handled.push_back(number_of(e));
    REQUIRE_FALSE(reader.consumer->ack(e));
  }
  for (std::size_t k = 1; k < written.size(); ++k) REQUIRE_FALSE(writer.consumer->ack(written[k]));
  REQUIRE(co_await eventually([&] { return s.all_durable(); }));
  co_await stop_all(s);
}

TEST_CASE("a consumer held back by another consumer's stalled write gets its batch when that write ends") {
  Shared s(2);
  s.produce(s.lanes[0], k_batch);
  s.produce(s.lanes[1], 2 * k_batch);
  s.open();
  bool handed_out = false;
  run(s.io, stalled_by_another(s, handed_out));
  CHECK_MESSAGE(handed_out, "next() stayed held back after the stalled write had ended");
  if (!handed_out) return;
  CHECK(ledger(s.lanes[0].handled, 1, k_batch) == k_exactly_once_in_order);
  CHECK(ledger(s.lanes[1].handled, 1, 2 * k_batch) == k_exactly_once_in_order);
  reopen_and_check(s);
}

// ---------------------------------------------------------------------------
// What the store refuses.

asio::awaitable<void> same_key_twice(Shared& s) {
  auto& lane = s.lanes[0];
  co_await start(*lane.consumer);
  {
    Consumer twin(s.io.get_executor(), s.store, s.options(lane));
    const auto [ec, report] = co_await twin.async_start(k_tuple);
    CHECK(ec == errc::consumer_running);
    CHECK(twin.error_detail() ==
          "a consumer with the same key (stream 'orders-0', group 'billing', consumer 'edge-7') runs on this store "
          "already");
    CHECK(twin.error_detail() ==
          fmt::format("a consumer with the same key ({}) runs on this store already", lane.key.describe()));
    CHECK(report.failure == twin.error_detail());  // the report carries the sentence too
  }
  // Another group on the same stream is another key.
  auto other_options = s.options(lane);
  other_options.key.group = "audit";
  Consumer other(s.io.get_executor(), s.store, other_options);
  co_await start(other);

  // The first is unaffected by the refusal.
  for (const auto& e : co_await take(lane, 5)) REQUIRE_FALSE(lane.consumer->ack(e));
  REQUIRE(co_await eventually([&] { return lane.consumer->durable_id() == lane.last(); }));
  CHECK(!co_await stop(other));
  CHECK(!co_await stop(*lane.consumer));

  // Once it stopped, the key is free: a new consumer with it resumes from
  // its checkpoint.
  Consumer again(s.io.get_executor(), s.store, s.options(lane));
  const auto started = co_await again.async_start(k_tuple);
  const auto& ec = std::get<0>(started);  // not a structured binding: clang 14 cannot capture one
  const auto& report = std::get<1>(started);
  REQUIRE_MESSAGE(!ec, ec.message(), ": ", again.error_detail());
  CHECK(report.position == lane.last());
  CHECK(report.source == ResumeReport::Source::local);
  CHECK(!co_await stop(again));
}

TEST_CASE("a second consumer with the same key on one store is refused (consumer_running) until the first stops") {
  Shared s(1);
  s.produce(s.lanes[0], 5);
  s.open();
  run(s.io, same_key_twice(s));
  CHECK(ledger(s.lanes[0].handled, 1, 5) == k_exactly_once_in_order);
  reopen_and_check(s);
}

// A start that fails (the application's check_resume refuses) frees the key
// at once: another consumer with it starts on the store while the refused one
// still exists, never stopped; and a consumer with its own store closes it,
// so another one opens its directory.
asio::awaitable<void> refused_start_frees_key(Shared& s, const std::filesystem::path& own_dir) {
  auto& lane = s.lanes[0];
  auto refusing = s.options(lane);
  refusing.check_resume = [](const ResumeReport&) { return std::string("the sink is not ready"); };
  Consumer refused(s.io.get_executor(), s.store, refusing);
  {
    const auto [ec, report] = co_await refused.async_start(k_tuple);
    CHECK(ec == errc::start_refused);
    CHECK(refused.error_detail() == "the sink is not ready");
    CHECK(report.failure == "the sink is not ready");
  }
  Consumer again(s.io.get_executor(), s.store, s.options(lane));
  const auto started = co_await again.async_start(k_tuple);
  const auto& ec = std::get<0>(started);  // not a structured binding: clang 14 cannot capture one
  REQUIRE_MESSAGE(!ec, ec.message(), ": ", again.error_detail());
  std::vector<Event> events;
  while (events.size() < 5)
    for (auto& e : co_await next_batch(again)) {
      lane.handled.push_back(number_of(e));
      events.push_back(std::move(e));
    }
  for (const auto& e : events) REQUIRE_FALSE(again.ack(e));
  REQUIRE(co_await eventually([&] { return again.durable_id() == lane.last(); }));
  CHECK(!co_await stop(again));
  CHECK(!co_await stop(refused));

  // Its own store: refused, then the same directory opens for another.
  auto own = s.options(lane);
  own.key.consumer = "edge-8";
  own.data_dir = own_dir;
  auto own_refusing = own;
  own_refusing.check_resume = refusing.check_resume;
  Consumer first(s.io.get_executor(), own_refusing);
  {
    const auto [first_ec, first_report] = co_await first.async_start(k_tuple);
    CHECK(first_ec == errc::start_refused);
  }
  Consumer second(s.io.get_executor(), own);
  const auto second_started = co_await second.async_start(k_tuple);
  const auto& second_ec = std::get<0>(second_started);
  REQUIRE_MESSAGE(!second_ec, second_ec.message(), ": ", second.error_detail());
  CHECK(!co_await stop(second));
  CHECK(!co_await stop(first));
}

TEST_CASE("a start that fails frees its key and its own store at once, before it is stopped or destroyed") {
  Shared s(1);
  s.produce(s.lanes[0], 5);
  s.open();
  TempDir own;
  run(s.io, refused_start_frees_key(s, own.path() / "ckpt"));
  CHECK(ledger(s.lanes[0].handled, 1, 5) == k_exactly_once_in_order);
  reopen_and_check(s);
}

struct Refusal {
  std::string what;
  ConsumerOptions options;
  std::string detail;
};

asio::awaitable<void> refuse_each(Shared& s, const std::vector<Refusal>& refusals) {
  auto& lane = s.lanes[0];
  for (const auto& r : refusals) {
    INFO(r.what);
    Consumer refused(s.io.get_executor(), s.store, r.options);
    const auto [ec, report] = co_await refused.async_start(k_tuple);
    CHECK(ec == errc::invalid_options);
    CHECK(refused.error_detail() == r.detail);
    CHECK(report.failure == r.detail);
  }
  // None of them took the key, nor touched the store: a consumer whose
  // data_dir names the store's own directory starts and consumes.
  auto o = s.options(lane);
  o.data_dir = s.store->dir();
  Consumer accepted(s.io.get_executor(), s.store, o);
  const auto started = co_await accepted.async_start(k_tuple);
  const auto& ec = std::get<0>(started);  // not a structured binding: clang 14 cannot capture one
  const auto& report = std::get<1>(started);
  REQUIRE_MESSAGE(!ec, ec.message(), ": ", accepted.error_detail());
  CHECK(report.source == ResumeReport::Source::start_policy);
  std::vector<Event> events;
  while (events.size() < 3)
    for (auto& e : co_await next_batch(accepted)) {
      lane.handled.push_back(number_of(e));
      events.push_back(std::move(e));
    }
  for (const auto& e : events) REQUIRE_FALSE(accepted.ack(e, effect_of(accepted.column_family("app"), e)));
  REQUIRE(co_await eventually([&] { return accepted.durable_id() == lane.last(); }));
  CHECK(!co_await stop(accepted));
}

TEST_CASE("options that disagree with a shared store are refused (invalid_options) with what to do, taking nothing") {
  Shared s(1, {"app"});
  s.produce(s.lanes[0], 3);
  s.open();
  const auto elsewhere = s.rig.dir.path() / "elsewhere";
  std::filesystem::create_directory(elsewhere);

  std::vector<Refusal> refusals;
  auto o = s.options(s.lanes[0]);
  o.data_dir = elsewhere;
  refusals.push_back({"another data_dir", o,
                      fmt::format("data_dir {} is not the store's directory {}: leave it empty with a shared store",
                                  elsewhere.string(), s.rig.data_dir().string())});
  o = s.options(s.lanes[0]);
  o.column_families = {"app", "ledger"};
  refusals.push_back({"a column family the store lacks", o,
                      "column family 'ledger' is not one of the store's: open the store with it"});
  // Any Env is refused, the store's own too: the store's files go through
  // the store's Env, whatever the consumer's options say.
  o = s.options(s.lanes[0]);
  o.env = rocksdb::Env::Default();
  refusals.push_back({"another Env", o, "env is the store's with a shared store: set it in StoreOptions"});
  o.env = s.rig.env.get();
  refusals.push_back({"the store's own Env", o, "env is the store's with a shared store: set it in StoreOptions"});

  run(s.io, refuse_each(s, refusals));
  CHECK(std::filesystem::is_empty(elsewhere));
  CHECK(ledger(s.lanes[0].handled, 1, 3) == k_exactly_once_in_order);
  const auto store = reopen_and_check(s, {"app"});
}

// ---------------------------------------------------------------------------
// Transactional acks, per consumer, across a restart.

constexpr int k_lanes_tx = 3;
constexpr int k_first_run = 8;
constexpr int k_second_run = 4;

std::string family_of(std::size_t lane) { return fmt::format("app-{}", lane); }
std::string effect_value(std::size_t lane, int n) { return fmt::format("{}:{}", lane, n); }
std::string metadata_of(const Lane& lane, int n) { return fmt::format("{} upto {}", lane.stream, n); }

// Each lane takes `count` events and acks each with a Put into its own
// family, and metadata naming the entry.
asio::awaitable<void> consume_transactionally(Shared& s, int count) {
  for (std::size_t i = 0; i < s.lanes.size(); ++i) {
    auto& lane = s.lanes[i];
    auto* family = lane.consumer->column_family(family_of(i));
    REQUIRE(family != nullptr);
    for (const auto& e : co_await take(lane, static_cast<std::size_t>(count))) {
      rocksdb::WriteBatch effects;
      REQUIRE(effects.Put(family, effect_key(e), effect_value(i, number_of(e))).ok());
      REQUIRE_FALSE(lane.consumer->ack(e, std::move(effects), metadata_of(lane, number_of(e))));
    }
  }
  REQUIRE(co_await eventually([&] { return s.all_durable(); }));
  co_await stop_all(s);
}

asio::awaitable<void> first_run(Shared& s) {
  for (auto& lane : s.lanes) co_await start(*lane.consumer);
  co_await consume_transactionally(s, k_first_run);
}

asio::awaitable<void> second_run(Shared& s) {
  for (auto& lane : s.lanes) {
    INFO(lane.stream);
    const auto started = co_await lane.consumer->async_start(k_tuple);
    const auto& ec = std::get<0>(started);  // not a structured binding: clang 14 cannot capture one
    const auto& report = std::get<1>(started);
    REQUIRE_MESSAGE(!ec, ec.message(), ": ", lane.consumer->error_detail());
    CHECK(report.source == ResumeReport::Source::local);
    CHECK(report.position == lane.ids.at(k_first_run - 1));
    CHECK(report.metadata == metadata_of(lane, k_first_run));
  }
  co_await consume_transactionally(s, k_second_run);
}

std::vector<std::string> families(std::size_t count) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < count; ++i) out.push_back(family_of(i));
  return out;
}

TEST_CASE("transactional acks on a shared store: after a restart each family holds exactly its consumer's effects") {
  Shared s(k_lanes_tx, families(k_lanes_tx));
  for (auto& lane : s.lanes) s.produce(lane, k_first_run);
  s.open();
  run(s.io, first_run(s));

  // A restart: a new store on the same directory, new consumers.
  for (auto& lane : s.lanes) lane.consumer.reset();
  s.store.reset();
  for (auto& lane : s.lanes) s.produce(lane, k_second_run);
  s.open();
  run(s.io, second_run(s));

  const auto store = reopen_and_check(s, families(k_lanes_tx));
  for (std::size_t i = 0; i < s.lanes.size(); ++i) {
    const auto& lane = s.lanes[i];
    INFO(lane.stream);
    CHECK(ledger(lane.handled, 1, k_first_run + k_second_run) == k_exactly_once_in_order);
    std::map<std::string, std::string> expected;
    for (int n = 1; n <= k_first_run + k_second_run; ++n) {
      Event e;
      e.id = lane.ids.at(static_cast<std::size_t>(n - 1));
      expected[effect_key(e)] = effect_value(i, n);
    }
    CHECK(contents(*store, family_of(i)) == expected);
    const auto copy = store->read(lane.key);
    REQUIRE(copy.valid());
    CHECK(copy.checkpoint->metadata == metadata_of(lane, k_first_run + k_second_run));
  }
}

// ---------------------------------------------------------------------------
// The CLI on a shared store.

asio::awaitable<void> consume_all(Shared& s) {
  for (auto& lane : s.lanes) {
    co_await start(*lane.consumer);
    for (const auto& e : co_await take(lane, lane.ids.size())) REQUIRE_FALSE(lane.consumer->ack(e));
  }
  REQUIRE(co_await eventually([&] { return s.all_durable(); }));
  co_await stop_all(s);
}

TEST_CASE("streamckpt checkpoint list shows the checkpoint of every consumer of a shared store") {
  Shared s(4);
  for (std::size_t i = 0; i < s.lanes.size(); ++i) s.produce(s.lanes[i], static_cast<int>(3 + i));
  s.open();
  run(s.io, consume_all(s));

  std::set<std::string> expected;
  {
    const auto store = reopen_and_check(s);
    for (const auto& lane : s.lanes) {
      const auto copy = store->read(lane.key);
      REQUIRE(copy.valid());
      expected.insert(fmt::format("{}\t{}\tedge-7\t{} (valid, epoch {})", lane.stream,
                                  lane.key.group.empty() ? "-" : lane.key.group, lane.last().to_string(),
                                  copy.checkpoint->epoch));
    }
  }
  const auto listed = run_cli({"checkpoint", "list", "--data-dir", s.rig.data_dir().string()});
  INFO(listed.err);
  CHECK(listed.exit_code == 0);
  CHECK(listed.err.empty());
  std::set<std::string> lines;
  std::istringstream out(listed.out);
  for (std::string line; std::getline(out, line);) lines.insert(line);
  CHECK(lines.size() == 4);
  CHECK(lines == expected);
}

}  // namespace
