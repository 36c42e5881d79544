// A start that fails changes nothing: a refused sink leaves the group, its
// consumers and both copies as they were; a key that is not a stream, or a
// Redis that cannot be reached, leaves no data directory; contradicting lease
// options are a usage error before anything is touched.
#include "scenario.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <set>

using namespace streamckpt::test;

namespace {

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

// The names of the group's consumers.
std::set<std::string> consumers_of(Client& redis, const std::string& group) {
  auto r = redis.run({"XINFO", "CONSUMERS", "orders", group});
  REQUIRE(r->type == REDIS_REPLY_ARRAY);
  std::set<std::string> names;
  for (std::size_t i = 0; i < r->elements; ++i) {
    const auto* c = r->element[i];
    for (std::size_t f = 0; f + 1 < c->elements; f += 2)
      if (std::string(c->element[f]->str) == "name") names.insert(c->element[f + 1]->str);
  }
  return names;
}

std::size_t group_count(Client& redis) {
  auto r = redis.run({"XINFO", "GROUPS", "orders"});
  REQUIRE(r->type == REDIS_REPLY_ARRAY);
  return r->elements;
}

// A sink file holding a line this consumer's checkpoints know nothing of.
std::filesystem::path foreign_file(const Scenario& s) {
  const auto file = s.dir().path() / "out.jsonl";
  std::ofstream(file) << "{\"id\":\"1-1\",\"fields\":{\"n\":\"1\"}}\n";
  return file;
}

const std::string k_unknown_length = " bytes, and no valid checkpoint records how many of them were handled";

}  // namespace

TEST_CASE("a sink refused at start-up: the group is not created, and the consumer not registered in it") {
  SUBCASE("no group yet") {
    Scenario s;
    s.produce(10);
    s.redis().run({"HSET", s.hash_key(), "id", "garbage"});
    const auto file = foreign_file(s);
    const auto r = s.consume({"--sink", "file:" + file.string(), "--idle-exit-ms", "300"});
    CHECK(r.exit_code == 1);
    // The resume line says what start-up found, and that it created nothing.
    CHECK(starts_with(r.err,
                      "streamckpt: resume after 0-0 (source: start-policy); local copy: absent; redis copy: invalid "
                      "(field id 'garbage' is not a stream ID); stream: length 10, "));
    CHECK(!contains(r.err, "group created"));
    CHECK(contains(r.err, "streamckpt: error: sink file " + file.string() + " has 32" + k_unknown_length));
    CHECK(group_count(s.redis()) == 0);
    CHECK(s.hash_field("id") == "garbage");
    CHECK(s.redis().run({"EXISTS", s.hash_key() + ":lease"})->integer == 0);  // taken, and released by the stop
  }
  SUBCASE("the group exists, read by another consumer") {
    Scenario s;
    s.produce(10);
    s.redis().run({"XGROUP", "CREATE", "orders", "billing", "0"});
    s.redis().run({"XREADGROUP", "GROUP", "billing", "other", "COUNT", "1", "STREAMS", "orders", ">"});
    s.redis().run({"HSET", s.hash_key(), "id", "garbage"});
    const auto file = foreign_file(s);
    const auto r = s.consume({"--sink", "file:" + file.string(), "--idle-exit-ms", "300"});
    CHECK(r.exit_code == 1);
    CHECK(contains(r.err, "streamckpt: error: sink file " + file.string() + " has 32" + k_unknown_length));
    CHECK(consumers_of(s.redis(), "billing") == std::set<std::string>{"other"});
  }
}

TEST_CASE("a sink refused at start-up: the copy that is behind is not re-seeded") {
  // A checkpoint made with the stdout sink records no file length.
  Scenario s;
  s.produce(10);
  REQUIRE(s.consume_n(5).exit_code == 0);
  s.redis().run({"DEL", s.hash_key()});
  const auto file = foreign_file(s);
  const auto r = s.consume({"--sink", "file:" + file.string(), "--idle-exit-ms", "300"});
  CHECK(r.exit_code == 1);
  CHECK(contains(r.err, "streamckpt: error: sink file " + file.string() +
                            " has 32 bytes, but the checkpoint records no file length (it was made with the stdout "
                            "sink, or by 'checkpoint set'), so nothing says which of them were handled; move the file "
                            "away or choose another file\n"));
  CHECK(s.redis().run({"EXISTS", s.hash_key()})->integer == 0);
  CHECK(s.handled() == Scenario::range(1, 5));
}

TEST_CASE("a key that is not a stream: exit 1 with WRONGTYPE explained, and no data directory is created") {
  for (const bool group : {true, false}) {
    CAPTURE(group);
    Scenario s(group);
    s.redis().run({"SET", "orders", "x"});
    const auto r = s.consume({"--idle-exit-ms", "300"});
    CHECK(r.exit_code == 1);
    CHECK(r.err ==
          "streamckpt: error: key 'orders' holds a string, not a stream (WRONGTYPE); choose another --stream\n");
    CHECK(!std::filesystem::exists(s.data_dir()));
    CHECK(s.redis().run({"GET", "orders"})->str == std::string("x"));
    CHECK(s.redis().run({"EXISTS", s.hash_key(), s.hash_key() + ":lease"})->integer == 0);
  }
}

TEST_CASE("an unreachable Redis with --startup-timeout-ms 0: exit 1 naming it, and no data directory is created") {
  Scenario s;
  s.server().kill();
  const auto r = s.consume({"--startup-timeout-ms", "0"});
  CHECK(r.exit_code == 1);
  CHECK(starts_with(r.err, "streamckpt: error: cannot connect to 127.0.0.1:"));
  CHECK(!std::filesystem::exists(s.data_dir()));
}

TEST_CASE("--no-lease with --wait-lease or --lease-ttl-ms is a usage error, with or without --group") {
  for (const bool group : {true, false}) {
    CAPTURE(group);
    Scenario s(group);
    for (const std::vector<std::string>& lease :
         {std::vector<std::string>{"--wait-lease"}, std::vector<std::string>{"--lease-ttl-ms", "1000"}}) {
      CAPTURE(lease[0]);
      auto extra = lease;
      extra.insert(extra.end(), {"--no-lease", "--idle-exit-ms", "300"});
      const auto r = s.consume(extra);
      CHECK(r.exit_code == 2);
      CHECK(starts_with(r.err, "streamckpt: " + lease[0] +
                                   " and --no-lease contradict each other: --no-lease takes no lease\nusage:"));
      CHECK(!std::filesystem::exists(s.data_dir()));
    }
  }
  // Alone, without --group, each is accepted and ignored, as the help says.
  Scenario plain(false);
  plain.produce(3);
  for (const std::vector<std::string>& lease :
       {std::vector<std::string>{"--wait-lease"}, std::vector<std::string>{"--no-lease"},
        std::vector<std::string>{"--lease-ttl-ms", "1000"}}) {
    CAPTURE(lease[0]);
    auto extra = lease;
    extra.insert(extra.end(), {"--idle-exit-ms", "300"});
    const auto r = plain.consume(extra);
    CHECK(r.exit_code == 0);
  }
  CHECK(plain.handled() == Scenario::range(1, 3));
}
