// The commit path's machine, with no committer and no clock: each case feeds
// it events (acks staged, writes done or failed, the retry due) and checks
// the actions it asks for.
#include "consumer/commit_pipeline.hpp"

#include <streamckpt/error.hpp>

#include <rocksdb/write_batch.h>

#include <doctest/doctest.h>

#include <memory>

using streamckpt::errc;
using streamckpt::make_error_code;
using streamckpt::StreamId;
using streamckpt::detail::CommitPipeline;
using streamckpt::detail::Staged;

namespace {

constexpr std::chrono::milliseconds k_initial{50}, k_cap{1000};

StreamId id(std::uint64_t ms) { return StreamId{ms, 0}; }

// Acks of the entries first..last, moving the checkpoint to `last`.
Staged acks(std::uint64_t first, std::uint64_t last, std::string metadata = {}) {
  Staged s;
  s.to = id(last);
  for (auto ms = first; ms <= last; ++ms) s.ids.push_back(id(ms));
  s.metadata = std::move(metadata);
  s.entries_seen = last;
  return s;
}

std::vector<StreamId> ids(std::uint64_t first, std::uint64_t last) { return acks(first, last).ids; }

CommitPipeline started_at(std::uint64_t ms) {
  CommitPipeline p(k_initial, k_cap, 7);
  p.start_at(id(ms));
  return p;
}

}  // namespace

TEST_CASE("nothing is durable, so nothing may be XACKed or written to Redis, before the write that covers it") {
  auto p = started_at(0);
  p.stage(acks(1, 3));
  auto s = p.take_submission();
  REQUIRE(s);
  CHECK(p.durable() == id(0));
  CHECK(p.uncommitted() == 3);
  CHECK_FALSE(p.idle());

  const auto out = p.on_done({}, std::move(s->job));
  REQUIRE(out.durable);
  CHECK(out.durable->ids == ids(1, 3));  // what may be XACKed now
  CHECK(out.durable->to == id(3));       // what the Redis copy may now say
  CHECK(p.durable() == id(3));
  CHECK(p.uncommitted() == 0);
  CHECK(p.idle());
}

TEST_CASE("acks staged while a write is in flight go out together in the next single write") {
  auto p = started_at(0);
  p.stage(acks(1, 1));
  auto first = p.take_submission();
  REQUIRE(first);
  p.stage(acks(2, 2, "a"));
  p.stage(acks(3, 5, "b"));
  auto second = p.take_submission();
  REQUIRE(second);
  CHECK(second->job.ids == ids(2, 5));
  CHECK(second->job.to == id(5));
  CHECK(second->job.metadata == "b");  // the latest ack's
  CHECK(second->job.entries_seen == 5);
  CHECK_FALSE(p.take_submission());  // nothing left staged
  CHECK(p.in_flight() == 2);

  CHECK(p.on_done({}, std::move(first->job)).durable->to == id(1));
  CHECK(p.durable() == id(1));
  CHECK(p.on_done({}, std::move(second->job)).durable->to == id(5));
  CHECK(p.durable() == id(5));
}

TEST_CASE("a transactional ack's effects travel with its IDs: merged writes keep each, in ack order, after a failure") {
  auto p = started_at(0);
  std::vector<std::shared_ptr<const rocksdb::WriteBatch>> effects;
  auto with_effect = [&](std::uint64_t ms) {
    auto batch = std::make_shared<rocksdb::WriteBatch>();
    REQUIRE(batch->Put("k", std::to_string(ms)).ok());
    effects.push_back(batch);
    auto s = acks(ms, ms);
    s.effects.push_back(batch);
    return s;
  };
  p.stage(with_effect(1));
  auto first = p.take_submission();
  REQUIRE(first);
  p.stage(with_effect(2));
  p.stage(acks(3, 3));  // no effect of its own
  p.stage(with_effect(4));
  auto second = p.take_submission();
  REQUIRE(second);
  CHECK(second->job.effects == decltype(effects){effects[1], effects[2]});

  // The first write fails: both jobs come back as one, every effect in order.
  const auto io = make_error_code(errc::store_io);
  CHECK(p.on_done(io, std::move(first->job)).first_failure);
  CHECK(p.on_done({}, std::move(second->job)).merged);
  p.on_retry_due();
  auto retry = p.take_submission();
  REQUIRE(retry);
  CHECK(retry->job.ids == ids(1, 4));
  CHECK(retry->job.effects == effects);
  CHECK(p.on_done({}, std::move(retry->job)).durable->to == id(4));
}

TEST_CASE("acks that do not move the checkpoint keep it where it is and still commit their IDs") {
  auto p = started_at(10);
  Staged below;
  below.to = id(10);
  below.ids = {id(4)};  // handed out below the watermark (a claimed entry)
  below.metadata = "m";
  p.stage(std::move(below));
  auto s = p.take_submission();
  REQUIRE(s);
  CHECK(s->job.to == id(10));
  CHECK(s->job.ids == std::vector<StreamId>{id(4)});
  const auto out = p.on_done({}, std::move(s->job));
  CHECK(out.durable->ids == std::vector<StreamId>{id(4)});
  CHECK(p.durable() == id(10));
}

TEST_CASE("at most k_max_in_flight writes are in flight; the next one goes when one comes back") {
  auto p = started_at(0);
  std::vector<Staged> in_flight;
  for (int i = 1; i <= CommitPipeline::k_max_in_flight; ++i) {
    p.stage(acks(static_cast<std::uint64_t>(i), static_cast<std::uint64_t>(i)));
    auto s = p.take_submission();
    REQUIRE(s);
    in_flight.push_back(std::move(s->job));
  }
  p.stage(acks(65, 65));
  CHECK_FALSE(p.take_submission());
  CHECK(p.on_done({}, std::move(in_flight.front())).durable);
  auto next = p.take_submission();
  REQUIRE(next);
  CHECK(next->job.ids == ids(65, 65));
}

TEST_CASE("a failed write holds every submission until its retry is due, then goes again as one job") {
  auto p = started_at(0);
  p.stage(acks(1, 2));
  auto s = p.take_submission();
  REQUIRE(s);
  p.stage(acks(3, 3));  // staged during the failing write

  const auto out = p.on_done(make_error_code(errc::store_io), std::move(s->job));
  CHECK_FALSE(out.durable);
  CHECK(out.first_failure);
  CHECK(out.merged);  // nothing else was in flight
  CHECK(out.retry_after >= std::chrono::milliseconds{0});
  CHECK(out.retry_after <= k_initial);
  CHECK(p.durable() == id(0));
  CHECK(p.uncommitted() == 3);
  CHECK(p.retry_pending());
  CHECK_FALSE(p.idle());
  CHECK_FALSE(p.take_submission());  // not before the backoff is over

  p.on_retry_due();
  auto retry = p.take_submission();
  REQUIRE(retry);
  CHECK(retry->job.ids == ids(1, 3));  // the failed acks first, in order, then those staged since
  CHECK(retry->job.to == id(3));
  CHECK(retry->retry);
  CHECK(retry->reopen_first);  // a WAL I/O error: RocksDB needs a reopen before it writes again
  CHECK(p.on_done({}, std::move(retry->job)).durable->to == id(3));
  CHECK(p.idle());
}

TEST_CASE("only an I/O error or a closed store asks for a reopen before the retry") {
  for (const auto& [code, reopen] : {std::pair{errc::store_io, true}, std::pair{errc::store_closed, true},
                                     std::pair{errc::store_corruption, false}}) {
    auto p = started_at(0);
    p.stage(acks(1, 1));
    auto s = p.take_submission();
    REQUIRE(s);
    p.on_done(make_error_code(code), std::move(s->job));
    p.on_retry_due();
    auto retry = p.take_submission();
    REQUIRE(retry);
    CHECK(retry->reopen_first == reopen);
    // Once only: the write after the retry is a plain one.
    p.stage(acks(2, 2));
    CHECK(p.on_done({}, std::move(retry->job)).durable);
    auto after = p.take_submission();
    REQUIRE(after);
    CHECK_FALSE(after->reopen_first);
    CHECK_FALSE(after->retry);
  }
}

TEST_CASE("after a failure the rest in flight fail too; they are merged in order once the last is back") {
  auto p = started_at(0);
  std::vector<Staged> jobs;
  for (std::uint64_t i = 1; i <= 3; ++i) {
    p.stage(acks(2 * i - 1, 2 * i));
    jobs.push_back(std::move(p.take_submission()->job));
  }
  const auto io = make_error_code(errc::store_io);
  const auto first = p.on_done(io, std::move(jobs[0]));
  CHECK(first.first_failure);
  CHECK_FALSE(first.merged);
  // A success reported behind the failure is no success: the job before it
  // is not on disk.
  const auto second = p.on_done({}, std::move(jobs[1]));
  CHECK_FALSE(second.durable);
  CHECK_FALSE(second.first_failure);
  CHECK_FALSE(second.merged);
  p.stage(acks(7, 7));
  const auto third = p.on_done(io, std::move(jobs[2]));
  CHECK_FALSE(third.first_failure);  // counted and logged once
  CHECK(third.merged);
  CHECK(p.durable() == id(0));
  p.on_retry_due();
  auto retry = p.take_submission();
  REQUIRE(retry);
  CHECK(retry->job.ids == ids(1, 7));
  CHECK(p.on_done({}, std::move(retry->job)).durable->to == id(7));
}

TEST_CASE("the backoff's ceiling doubles with each failure in a row, up to the cap; a success starts it over") {
  auto p = started_at(0);
  p.stage(acks(1, 1));
  std::vector<std::chrono::milliseconds> ceilings = {k_initial,      2 * k_initial, 4 * k_initial, 8 * k_initial,
                                                     16 * k_initial, k_cap,         k_cap};
  auto s = p.take_submission();
  for (const auto ceiling : ceilings) {
    const auto out = p.on_done(make_error_code(errc::store_io), std::move(s->job));
    REQUIRE(out.first_failure);
    CHECK(out.retry_after <= ceiling);
    p.on_retry_due();
    s = p.take_submission();
    REQUIRE(s);
  }
  CHECK(p.on_done({}, std::move(s->job)).durable);
  p.stage(acks(2, 2));
  s = p.take_submission();
  const auto out = p.on_done(make_error_code(errc::store_io), std::move(s->job));
  CHECK(out.retry_after <= k_initial);
}

TEST_CASE("the durable position only moves forward, one job after another in submission order") {
  auto p = started_at(100);
  p.stage(acks(101, 150));
  auto a = p.take_submission();
  p.stage(acks(151, 151));
  auto b = p.take_submission();
  CHECK(p.on_done({}, std::move(a->job)).durable);
  CHECK(p.durable() == id(150));
  CHECK(p.uncommitted() == 1);
  CHECK(p.on_done({}, std::move(b->job)).durable);
  CHECK(p.durable() == id(151));
  CHECK(p.uncommitted() == 0);
  CHECK_FALSE(p.take_submission());
  CHECK(p.idle());
}
