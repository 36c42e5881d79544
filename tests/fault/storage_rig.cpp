#include "storage_rig.hpp"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <sstream>

namespace streamckpt::test {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------------------
// The ledger.

std::vector<int> range(int first, int last) {
  std::vector<int> v;
  for (int i = first; i <= last; ++i) v.push_back(i);
  return v;
}

// "exactly once, in order" when handled == first … last; otherwise what is
// wrong, in one comparable sentence.
std::string ledger(const std::vector<int>& handled, int first, int last) {
  if (handled == range(first, last)) return k_exactly_once_in_order;
  std::map<int, int> seen;
  for (int n : handled) ++seen[n];
  std::ostringstream out;
  out << handled.size() << " handled for " << (last - first + 1) << " entries;";
  int missing = 0, duplicated = 0;
  for (int n = first; n <= last; ++n) {
    if (!seen.count(n)) {
      if (missing++ < 5) out << " missing " << n << ";";
    } else if (seen[n] > 1 && duplicated++ < 5) {
      out << " " << n << " handled " << seen[n] << " times;";
    }
  }
  for (std::size_t i = 1; i < handled.size(); ++i) {
    if (handled[i] <= handled[i - 1]) {
      out << " order breaks at position " << i << " (" << handled[i - 1] << " then " << handled[i] << ")";
      break;
    }
  }
  return out.str();
}

// ---------------------------------------------------------------------------
// The rig.

std::string Rig::hash_key() const { return std::string("streamckpt:{orders}:") + (group ? "billing" : "") + ":edge-7"; }

Checkpoint local_checkpoint(const Rig& rig) {
  auto store = open_store(rig.data_dir());
  const auto copy = store->read(rig.key());
  REQUIRE_MESSAGE(copy.valid(), copy.reason);
  return *copy.checkpoint;
}

ConsumerOptions Rig::options(std::vector<std::string> families) {
  ConsumerOptions o;
  o.redis_url = redis.url();
  o.key = key();
  o.data_dir = data_dir();
  o.column_families = std::move(families);
  o.batch = k_batch;
  o.max_in_flight = k_max_in_flight;
  o.block = 100ms;
  o.reconnect_initial = 5ms;  // also the commit retry backoff
  o.reconnect_max = 40ms;
  o.env = env.get();
  o.log = [this](std::string_view line) { logs.emplace_back(line); };
  return o;
}

void Rig::produce(int count) {
  for (const auto& id : client.produce("orders", static_cast<int>(ids.size()) + 1, count)) {
    const auto parsed = StreamId::parse(id);
    REQUIRE(parsed.has_value());
    ids.push_back(*parsed);
  }
}

int Rig::count_upto(StreamId id) const {
  return static_cast<int>(std::upper_bound(ids.begin(), ids.end(), id) - ids.begin());
}

std::pair<long long, std::optional<StreamId>> Rig::pending() {
  auto r = client.run({"XPENDING", "orders", "billing"});
  REQUIRE(r->type == REDIS_REPLY_ARRAY);
  REQUIRE(r->elements >= 2);
  std::optional<StreamId> low;
  if (r->element[1]->type == REDIS_REPLY_STRING)
    low = StreamId::parse(std::string(r->element[1]->str, r->element[1]->len));
  return {r->element[0]->integer, low};
}

std::string Rig::group_field(const std::string& field) {
  auto r = client.run({"XINFO", "GROUPS", "orders"});
  REQUIRE(r->type == REDIS_REPLY_ARRAY);
  for (std::size_t g = 0; g < r->elements; ++g) {
    const auto* grp = r->element[g];
    std::map<std::string, std::string> f;
    for (std::size_t i = 0; i + 1 < grp->elements; i += 2) {
      const auto* v = grp->element[i + 1];
      f[grp->element[i]->str] = v->type == REDIS_REPLY_INTEGER ? std::to_string(v->integer)
                                : v->str                       ? std::string(v->str, v->len)
                                                               : std::string{};
    }
    if (f["name"] == "billing") return f[field];
  }
  return {};
}

std::optional<StreamId> Rig::redis_copy() {
  auto r = client.run({"HGET", hash_key(), "id"});
  if (r->type != REDIS_REPLY_STRING) return std::nullopt;
  return StreamId::parse(std::string(r->str, r->len));
}

bool Rig::logged(const std::string& needle) const {
  return std::any_of(logs.begin(), logs.end(), [&](const auto& l) { return l.find(needle) != std::string::npos; });
}

// Opens the store as a later process would (RocksDB's own file system).
std::unique_ptr<LocalStore> open_store(const std::filesystem::path& dir, std::vector<std::string> families) {
  LocalStoreOptions o;
  o.dir = dir;
  o.column_families = std::move(families);
  std::string detail;
  auto store = LocalStore::open(o, &detail);
  INFO("LocalStore::open: ", detail);
  REQUIRE(store.has_value());
  return std::move(*store);
}

// Every key and value of a column family.
std::map<std::string, std::string> contents(LocalStore& store, const std::string& family) {
  auto* cf = store.column_family(family);
  REQUIRE(cf != nullptr);
  std::map<std::string, std::string> out;
  std::unique_ptr<rocksdb::Iterator> it(store.db().NewIterator(rocksdb::ReadOptions(), cf));
  for (it->SeekToFirst(); it->Valid(); it->Next()) out[it->key().ToString()] = it->value().ToString();
  return out;
}

// ---------------------------------------------------------------------------
// Running coroutines.

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  asio::steady_timer timer(co_await asio::this_coro::executor, d);
  co_await timer.async_wait(k_tuple);
}

// Polls `done` every 5 ms for at most `limit`; true once it holds.
asio::awaitable<bool> eventually(std::function<bool()> done, std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  while (!done()) {
    if (Clock::now() >= deadline) co_return false;
    co_await sleep_for(5ms);
  }
  co_return true;
}

// Runs `body` on `io` until it completes (or `limit` passes: a hang fails the
// test). Rethrows what the body threw (a failed REQUIRE).
void run(asio::io_context& io, asio::awaitable<void> body, std::chrono::seconds limit) {
  bool done = false;
  std::exception_ptr error;
  asio::co_spawn(io, std::move(body), [&](std::exception_ptr e) {
    done = true;
    error = std::move(e);
  });
  const auto deadline = Clock::now() + limit;
  while (!done && Clock::now() < deadline) io.run_one_for(50ms);
  if (!done) {
    io.stop();
    FAIL("the scenario did not finish within ", limit.count(), " s (a hang)");
  }
  if (error) std::rethrow_exception(error);
}

// start() and stop(), with the error as a plain value.
asio::awaitable<void> start(Consumer& consumer) {
  const auto started = co_await consumer.async_start(k_tuple);
  const auto& ec = std::get<0>(started);
  REQUIRE_MESSAGE(!ec, ec.message(), ": ", consumer.error_detail());
}

asio::awaitable<boost::system::error_code> stop(Consumer& consumer) {
  const auto stopped = co_await consumer.async_stop(k_tuple);
  co_return std::get<0>(stopped);
}

int number_of(const Event& e) {
  for (const auto& [field, value] : e.fields)
    if (field == "n") return std::stoi(value);
  return -1;
}

std::string effect_key(const Event& e) { return "event/" + e.id.to_padded(); }

namespace {

asio::awaitable<void> run_app(Consumer& consumer, App& app) {
  for (;;) {
    app.waiting = true;
    auto [ec, batch] = co_await consumer.async_next(k_tuple);
    app.waiting = false;
    if (ec) {
      app.end = ec;
      break;
    }
    // Re-fetched for every batch, as consumer.hpp asks. While the store is
    // closed after a failed reopen there is none: wait for it (counted).
    auto* family = app.transactional ? consumer.column_family("app") : nullptr;
    if (app.transactional && !family) {
      ++app.family_missing;
      app.waiting = true;
      REQUIRE(co_await eventually([&] { return consumer.column_family("app") != nullptr; }));
      app.waiting = false;
      family = consumer.column_family("app");
    }
    if (batch.empty()) ++app.idle_ticks;
    for (const auto& event : batch) {
      app.handled.push_back(number_of(event));
      bool accepted = false;
      if (app.transactional) {
        rocksdb::WriteBatch effects;
        REQUIRE(effects.Put(family, effect_key(event), std::to_string(number_of(event))).ok());
        accepted = !consumer.ack(event, std::move(effects));
      } else {
        accepted = !consumer.ack(event);
      }
      if (!accepted) ++app.acks_refused;
    }
  }
  app.done = true;
}

}  // namespace

void spawn_app(const asio::any_io_executor& ex, Consumer& consumer, App& app) {
  asio::co_spawn(ex, run_app(consumer, app), asio::detached);
}

// Waits until consumption is paused by the failing store: the application
// waits in next() and its ledger did not grow across `rounds` more failed
// commits. False when that does not happen within the bound.
asio::awaitable<bool> paused(Consumer& consumer, App& app, std::uint64_t rounds) {
  const auto deadline = Clock::now() + 30s;
  while (Clock::now() < deadline) {
    const auto handled = app.handled.size();
    const auto errors = consumer.metrics().storage_errors;
    if (!co_await eventually([&] { return consumer.metrics().storage_errors >= errors + rounds; }, 10s))
      co_return false;
    if (app.waiting && app.handled.size() == handled) co_return true;
  }
  co_return false;
}

// The next non-empty batch.
asio::awaitable<Batch> next_batch(Consumer& consumer) {
  for (;;) {
    auto next = co_await consumer.async_next(k_tuple);
    REQUIRE_MESSAGE(!std::get<0>(next), std::get<0>(next).message());
    if (!std::get<1>(next).empty()) co_return std::move(std::get<1>(next));
  }
}

rocksdb::WriteBatch effect_of(rocksdb::ColumnFamilyHandle* family, const Event& e) {
  rocksdb::WriteBatch effects;
  REQUIRE(effects.Put(family, effect_key(e), std::to_string(number_of(e))).ok());
  return effects;
}

// Runs until the checkpoint reaches `last`, then stops cleanly.
asio::awaitable<void> consume_to_the_end(Consumer& consumer, App& app, StreamId last) {
  co_await start(consumer);
  spawn_app(co_await asio::this_coro::executor, consumer, app);
  CHECK(co_await eventually([&] { return consumer.durable_id() == last; }));
  const auto stop_ec = co_await stop(consumer);
  CHECK(!stop_ec);
  CHECK(co_await eventually([&] { return app.done; }));
}

// The app family holds exactly one effect per entry at or below `upto`, each
// with its entry's number, and nothing else.
void check_effects(Rig& rig, LocalStore& store, StreamId upto) {
  const auto effects = contents(store, "app");
  std::map<std::string, std::string> expected;
  for (int n = 1; n <= rig.count_upto(upto); ++n) {
    Event e;
    e.id = rig.id_of(n);
    expected[effect_key(e)] = std::to_string(n);
  }
  CHECK(effects.size() == expected.size());
  CHECK(effects == expected);
}

}  // namespace streamckpt::test
