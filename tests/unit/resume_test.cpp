// decide_resume: which copy wins, what the policies do, and gap detection.
#include "consumer/resume.hpp"

#include <doctest/doctest.h>

#include <string>

using streamckpt::Checkpoint;
using streamckpt::CheckpointCopy;
using streamckpt::errc;
using streamckpt::RegressedPolicy;
using streamckpt::ResumeReport;
using streamckpt::StartPolicy;
using streamckpt::StreamId;
using streamckpt::StreamState;
using streamckpt::detail::decide_resume;
using streamckpt::detail::entries_seen_at;
using streamckpt::detail::ResumeInputs;
using Source = ResumeReport::Source;

namespace {

CheckpointCopy copy_at(StreamId id, std::uint64_t entries_seen = 0, std::uint64_t epoch = 0) {
  Checkpoint c;
  c.key = {"s", "g", "c"};
  c.id = id;
  c.entries_seen = entries_seen;
  c.epoch = epoch;
  return CheckpointCopy::of(c);
}

// A stream whose entries 1-0 … 100-0 were all added and none deleted.
StreamState stream_up_to_100() {
  StreamState s;
  s.exists = true;
  s.length = 100;
  s.last_generated = StreamId(100, 0);
  s.first_entry = StreamId(1, 0);
  s.entries_added = 100;
  return s;
}

ResumeReport must_decide(ResumeInputs in) {
  const auto r = decide_resume(std::move(in));
  REQUIRE(r.has_value());
  return *r;
}

}  // namespace

TEST_CASE("only a local copy: it wins") {
  ResumeInputs in;
  in.local = copy_at(StreamId(40, 0));
  in.stream = stream_up_to_100();
  const auto r = must_decide(in);
  CHECK(r.source == Source::local);
  CHECK(r.position == StreamId(40, 0));
  CHECK_FALSE(r.regressed);
  CHECK_FALSE(r.gap.has_value());
  CHECK(r.local.valid());
  CHECK(r.redis.state == CheckpointCopy::State::absent);
}

TEST_CASE("only a Redis copy: it wins") {
  ResumeInputs in;
  in.redis = copy_at(StreamId(30, 2));
  in.stream = stream_up_to_100();
  const auto r = must_decide(in);
  CHECK(r.source == Source::redis);
  CHECK(r.position == StreamId(30, 2));
  CHECK_FALSE(r.regressed);
}

TEST_CASE("both copies: the higher one wins") {
  ResumeInputs in;
  in.stream = stream_up_to_100();
  SUBCASE("Redis higher") {
    in.local = copy_at(StreamId(10, 0));
    in.redis = copy_at(StreamId(10, 1));
    const auto r = must_decide(in);
    CHECK(r.source == Source::redis);
    CHECK(r.position == StreamId(10, 1));
  }
  SUBCASE("local higher") {
    in.local = copy_at(StreamId(11, 0));
    in.redis = copy_at(StreamId(10, 5));
    const auto r = must_decide(in);
    CHECK(r.source == Source::local);
    CHECK(r.position == StreamId(11, 0));
  }
}

TEST_CASE("both copies equal: the local one wins the tie") {
  ResumeInputs in;
  in.stream = stream_up_to_100();
  in.local = copy_at(StreamId(50, 0));
  in.redis = copy_at(StreamId(50, 0));
  const auto r = must_decide(in);
  CHECK(r.source == Source::local);
  CHECK(r.position == StreamId(50, 0));
}

TEST_CASE("a copy with a higher epoch wins even at a lower ID") {
  // A checkpoint forced backwards starts a new epoch: the other copy's higher
  // ID is from before the reset and must not undo it.
  ResumeInputs in;
  in.stream = stream_up_to_100();
  SUBCASE("local has the higher epoch") {
    in.local = copy_at(StreamId(10, 0), 0, 2);
    in.redis = copy_at(StreamId(50, 0), 0, 1);
    const auto r = must_decide(in);
    CHECK(r.source == Source::local);
    CHECK(r.position == StreamId(10, 0));
  }
  SUBCASE("Redis has the higher epoch") {
    in.local = copy_at(StreamId(40, 0), 0, 2);
    in.redis = copy_at(StreamId(5, 0), 0, 3);
    const auto r = must_decide(in);
    CHECK(r.source == Source::redis);
    CHECK(r.position == StreamId(5, 0));
  }
  SUBCASE("same epoch: the higher ID wins") {
    in.local = copy_at(StreamId(40, 0), 0, 4);
    in.redis = copy_at(StreamId(41, 0), 0, 4);
    const auto r = must_decide(in);
    CHECK(r.source == Source::redis);
    CHECK(r.position == StreamId(41, 0));
  }
  SUBCASE("same epoch and ID: local wins the tie") {
    in.local = copy_at(StreamId(40, 0), 0, 4);
    in.redis = copy_at(StreamId(40, 0), 0, 4);
    const auto r = must_decide(in);
    CHECK(r.source == Source::local);
  }
}

TEST_CASE("an invalid copy is ignored and the valid one wins") {
  ResumeInputs in;
  in.stream = stream_up_to_100();
  in.local = CheckpointCopy::invalid("bad CRC");
  in.redis = copy_at(StreamId(20, 0));
  const auto r = must_decide(in);
  CHECK(r.source == Source::redis);
  CHECK(r.position == StreamId(20, 0));
  CHECK(r.local.state == CheckpointCopy::State::invalid);
  CHECK(r.local.reason == "bad CRC");
  CHECK_FALSE(r.regressed);
}

TEST_CASE("a copy beyond the stream's last-generated-id is invalid and the other copy wins") {
  ResumeInputs in;
  in.stream = stream_up_to_100();
  SUBCASE("local beyond") {
    in.local = copy_at(StreamId(100, 1));
    in.redis = copy_at(StreamId(60, 0));
    const auto r = must_decide(in);
    CHECK(r.regressed);
    CHECK(r.local.state == CheckpointCopy::State::invalid);
    CHECK_FALSE(r.local.checkpoint.has_value());
    CHECK(r.local.reason.find("last-generated-id") != std::string::npos);
    CHECK(r.local.reason.find("100-1") != std::string::npos);
    CHECK(r.local.reason.find("100-0") != std::string::npos);
    CHECK(r.source == Source::redis);
    CHECK(r.position == StreamId(60, 0));
  }
  SUBCASE("Redis beyond") {
    in.local = copy_at(StreamId(60, 0));
    in.redis = copy_at(StreamId(500, 0));
    const auto r = must_decide(in);
    CHECK(r.regressed);
    CHECK(r.redis.state == CheckpointCopy::State::invalid);
    CHECK(r.redis.reason.find("last-generated-id") != std::string::npos);
    CHECK(r.local.valid());
    CHECK(r.source == Source::local);
    CHECK(r.position == StreamId(60, 0));
  }
  SUBCASE("a copy exactly at last-generated-id is not beyond it") {
    in.local = copy_at(StreamId(100, 0));
    const auto r = must_decide(in);
    CHECK_FALSE(r.regressed);
    CHECK(r.source == Source::local);
    CHECK(r.position == StreamId(100, 0));
  }
}

TEST_CASE("both copies beyond the stream: the regressed policy decides") {
  ResumeInputs in;
  in.stream = stream_up_to_100();
  in.local = copy_at(StreamId(200, 0));
  in.redis = copy_at(StreamId(300, 0));
  SUBCASE("first: resume from the start") {
    in.on_regressed = RegressedPolicy::first;
    const auto r = must_decide(in);
    CHECK(r.regressed);
    CHECK(r.source == Source::regressed_policy);
    CHECK(r.position == StreamId(0, 0));
    CHECK(r.local.state == CheckpointCopy::State::invalid);
    CHECK(r.redis.state == CheckpointCopy::State::invalid);
    CHECK_FALSE(r.gap.has_value());
  }
  SUBCASE("head: skip to the stream's end") {
    in.on_regressed = RegressedPolicy::head;
    const auto r = must_decide(in);
    CHECK(r.source == Source::regressed_policy);
    CHECK(r.position == StreamId(100, 0));
  }
  SUBCASE("fail: refuse with stream_regressed") {
    in.on_regressed = RegressedPolicy::fail;
    in.start = StartPolicy::earliest;  // the start policy does not apply
    const auto r = decide_resume(in);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == errc::stream_regressed);
  }
}

TEST_CASE("no valid copy: the start policy decides") {
  ResumeInputs in;
  in.stream = stream_up_to_100();
  in.local = CheckpointCopy::invalid("bad CRC");  // invalid, but not regressed
  SUBCASE("earliest: from the start") {
    in.start = StartPolicy::earliest;
    const auto r = must_decide(in);
    CHECK(r.source == Source::start_policy);
    CHECK(r.position == StreamId(0, 0));
    CHECK_FALSE(r.regressed);
  }
  SUBCASE("latest: from the stream's end") {
    in.start = StartPolicy::latest;
    const auto r = must_decide(in);
    CHECK(r.source == Source::start_policy);
    CHECK(r.position == StreamId(100, 0));
  }
  SUBCASE("fail: refuse with no_valid_checkpoint") {
    in.start = StartPolicy::fail;
    in.on_regressed = RegressedPolicy::fail;  // not regressed: does not apply
    const auto r = decide_resume(in);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == errc::no_valid_checkpoint);
  }
}

TEST_CASE("no copy at all and no stream: earliest starts at 0-0") {
  ResumeInputs in;  // stream does not exist
  const auto r = must_decide(in);
  CHECK(r.source == Source::start_policy);
  CHECK(r.position == StreamId(0, 0));
  CHECK_FALSE(r.gap.has_value());
  CHECK_FALSE(r.stream.exists);
}

TEST_CASE("entries trimmed after the checkpoint are counted as a gap") {
  // Entries 1-0 … 20-0 were added; the consumer handled 1-0 … 5-0; XTRIM
  // removed 1-0 … 10-0, so 6-0 … 10-0 (five entries) were never handled.
  ResumeInputs in;
  in.local = copy_at(StreamId(5, 0), 5);
  in.stream.exists = true;
  in.stream.entries_added = 20;
  in.stream.length = 10;
  in.stream.max_deleted = StreamId(10, 0);
  in.stream.first_entry = StreamId(11, 0);
  in.stream.last_generated = StreamId(20, 0);
  const auto r = must_decide(in);
  CHECK(r.source == Source::local);
  CHECK(r.position == StreamId(5, 0));
  REQUIRE(r.gap.has_value());
  CHECK(*r.gap == 5);
  CHECK(entries_seen_at(r) == 10);
}

TEST_CASE("deletions at or below the checkpoint are no gap") {
  ResumeInputs in;
  in.local = copy_at(StreamId(10, 0), 10);
  in.stream.exists = true;
  in.stream.entries_added = 20;
  in.stream.length = 10;
  in.stream.max_deleted = StreamId(10, 0);
  in.stream.first_entry = StreamId(11, 0);
  in.stream.last_generated = StreamId(20, 0);
  const auto r = must_decide(in);
  CHECK_FALSE(r.gap.has_value());
  CHECK(entries_seen_at(r) == 10);
}

TEST_CASE("a deletion after the checkpoint is a gap of at least one entry") {
  // XDEL of 7-0: the counts alone cannot see it (entries_seen is unknown).
  ResumeInputs in;
  in.local = copy_at(StreamId(5, 0), 0);
  in.stream.exists = true;
  in.stream.entries_added = 10;
  in.stream.length = 10;
  in.stream.max_deleted = StreamId(7, 0);
  in.stream.first_entry = StreamId(1, 0);
  in.stream.last_generated = StreamId(10, 0);
  const auto r = must_decide(in);
  REQUIRE(r.gap.has_value());
  CHECK(*r.gap == 1);
}

TEST_CASE("entries_seen_at follows the policy when no copy won") {
  ResumeInputs in;
  in.stream.exists = true;
  in.stream.entries_added = 20;
  in.stream.length = 10;
  in.stream.last_generated = StreamId(20, 0);
  in.stream.first_entry = StreamId(11, 0);
  in.stream.max_deleted = StreamId(10, 0);
  SUBCASE("earliest: the trimmed entries count as seen") {
    in.start = StartPolicy::earliest;
    const auto r = must_decide(in);
    CHECK_FALSE(r.gap.has_value());
    CHECK(entries_seen_at(r) == 10);
  }
  SUBCASE("latest: every entry counts as seen") {
    in.start = StartPolicy::latest;
    const auto r = must_decide(in);
    CHECK(entries_seen_at(r) == 20);
  }
}

TEST_CASE("the metadata resumed with is the newest copy's by (epoch, ID), also when that copy is beyond the end") {
  const auto with_metadata = [](CheckpointCopy c, const std::string& m) {
    c.checkpoint->metadata = m;
    return c;
  };
  ResumeInputs in;
  in.stream = stream_up_to_100();
  in.local = with_metadata(copy_at(StreamId(150, 0)), "local");  // beyond the end: regressed
  in.redis = with_metadata(copy_at(StreamId(50, 0)), "redis");
  auto r = must_decide(in);
  CHECK(r.source == Source::redis);
  CHECK(r.position == StreamId(50, 0));
  CHECK(r.metadata == "local");

  in.redis = with_metadata(copy_at(StreamId(50, 0), 0, 1), "forced");  // a later epoch ranks higher
  r = must_decide(in);
  CHECK(r.metadata == "forced");

  in.local = with_metadata(copy_at(StreamId(40, 0)), "local");  // both valid: the winner's
  in.redis = with_metadata(copy_at(StreamId(60, 0)), "redis");
  r = must_decide(in);
  CHECK(r.metadata == "redis");

  in.local = CheckpointCopy::invalid("garbage");  // none valid, none beyond: no metadata
  in.redis = CheckpointCopy::absent();
  r = must_decide(in);
  CHECK(r.metadata.empty());
}

// ---------------------------------------------------------------------------
// The stream went backwards behind a copy in other ways than its end: a
// failover to a replica that lagged, after new entries passed the copy.

namespace {

// stream_up_to_100() as Redis 7 reports it: with entries-added and
// max-deleted-entry-id.
StreamState counted_stream() {
  auto s = stream_up_to_100();
  s.counts_known = true;
  return s;
}

}  // namespace

TEST_CASE("with --on-regressed fail, a copy the stream went back behind refuses even when the other copy is valid") {
  ResumeInputs in;
  in.stream = stream_up_to_100();
  in.local = copy_at(StreamId(60, 0));
  in.redis = copy_at(StreamId(500, 0));
  in.on_regressed = RegressedPolicy::fail;
  std::string why;
  const auto r = decide_resume(in, &why);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error() == errc::stream_regressed);
  CHECK(why ==
        "the Redis copy is not valid: checkpoint 500-0 is beyond the stream's last-generated-id 100-0 (the stream went "
        "backwards) and --on-regressed is fail; nothing was changed");
}

TEST_CASE("a copy that had seen more entries than the stream has had is regressed, with the count of entries gone") {
  ResumeInputs in;
  in.stream = counted_stream();  // 100 entries added
  in.local = copy_at(StreamId(60, 0), 60);
  in.redis = copy_at(StreamId(90, 0), 130);  // the old primary had 130 up to 90-0
  const auto r = must_decide(in);
  CHECK(r.regressed);
  REQUIRE(r.regressed_entries.has_value());
  CHECK(*r.regressed_entries == 30);
  CHECK(r.redis.reason ==
        "checkpoint 90-0 had seen 130 entries of the stream, which has had 100 added (the stream went backwards: at "
        "least 30 entries are gone)");
  CHECK(r.source == Source::local);
  CHECK(r.position == StreamId(60, 0));
  CHECK(
      r.describe().find("; REGRESSED: the stream went backwards, at least 30 entries a checkpoint had seen are gone") !=
      std::string::npos);
}

TEST_CASE("without entries-added (Redis before 7) the count is not checked") {
  ResumeInputs in;
  in.stream = stream_up_to_100();  // counts_known is false
  in.local = copy_at(StreamId(90, 0), 130);
  const auto r = must_decide(in);
  CHECK_FALSE(r.regressed);
  CHECK(r.position == StreamId(90, 0));
}

TEST_CASE("a copy naming an entry the stream lacks, neither trimmed nor deleted, is regressed") {
  ResumeInputs in;
  in.stream = counted_stream();
  in.local = copy_at(StreamId(70, 5), 70);
  in.absent_ids = {StreamId(70, 5)};
  SUBCASE("first: from the first entry") {
    const auto r = must_decide(in);
    CHECK(r.regressed);
    CHECK_FALSE(r.regressed_entries.has_value());
    CHECK(r.local.reason ==
          "checkpoint 70-5 names an entry the stream does not have and never deleted (the stream went backwards)");
    CHECK(r.source == Source::regressed_policy);
    CHECK(r.position == StreamId(0, 0));
    CHECK(r.describe().find("; REGRESSED: the stream went backwards behind a checkpoint") != std::string::npos);
  }
  SUBCASE("fail") {
    in.on_regressed = RegressedPolicy::fail;
    std::string why;
    const auto r = decide_resume(in, &why);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == errc::stream_regressed);
    CHECK(why.rfind("the local copy is not valid: checkpoint 70-5 names an entry", 0) == 0);
  }
}

TEST_CASE("the IDs looked up are the valid copies' within the stream's entries and above every XDEL") {
  ResumeInputs in;
  in.stream = counted_stream();  // entries 1-0 … 100-0
  in.stream.max_deleted = StreamId(20, 0);
  using streamckpt::detail::ids_to_look_up;
  SUBCASE("both inside, once each") {
    in.local = copy_at(StreamId(50, 0));
    in.redis = copy_at(StreamId(60, 0));
    CHECK(ids_to_look_up(in) == std::vector<StreamId>{StreamId(50, 0), StreamId(60, 0)});
    in.redis = copy_at(StreamId(50, 0));
    CHECK(ids_to_look_up(in) == std::vector<StreamId>{StreamId(50, 0)});
  }
  SUBCASE("at or below an XDEL, below the first entry, beyond the end, invalid or absent: none") {
    in.local = copy_at(StreamId(20, 0));
    in.redis = copy_at(StreamId(100, 1));
    CHECK(ids_to_look_up(in).empty());
    in.stream.first_entry = StreamId(30, 0);
    in.local = copy_at(StreamId(25, 0));
    in.redis = CheckpointCopy::invalid("bad CRC");
    CHECK(ids_to_look_up(in).empty());
  }
  SUBCASE("an empty stream, or no counts (Redis before 7): none") {
    in.local = copy_at(StreamId(50, 0));
    in.stream.first_entry.reset();
    CHECK(ids_to_look_up(in).empty());
    in.stream = stream_up_to_100();
    CHECK(ids_to_look_up(in).empty());
  }
}
