// The file sink's file: what it accepts on a first run, what it refuses
// before it opens anything, and the mode it creates the file with.
#include "scenario.hpp"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cstring>
#include <fstream>
#include <functional>

using namespace streamckpt::test;

namespace {

unsigned mode_of(const std::filesystem::path& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

// The umask for one scope: the CLI inherits it.
class Umask {
 public:
  explicit Umask(mode_t mask) : old_(::umask(mask)) {}
  ~Umask() { ::umask(old_); }
  Umask(const Umask&) = delete;
  Umask& operator=(const Umask&) = delete;

 private:
  mode_t old_;
};

// A unix socket bound at `path`, listening, for as long as it lives.
class BoundSocket {
 public:
  explicit BoundSocket(const std::filesystem::path& path) : fd_(::socket(AF_UNIX, SOCK_STREAM, 0)) {
    REQUIRE(fd_ >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    REQUIRE(path.string().size() < sizeof addr.sun_path);
    std::strcpy(addr.sun_path, path.c_str());
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd_, 1) == 0);
  }
  ~BoundSocket() { ::close(fd_); }
  BoundSocket(const BoundSocket&) = delete;
  BoundSocket& operator=(const BoundSocket&) = delete;

 private:
  int fd_;
};

// `consume` with the file sink at `path`, bounded: a CLI that blocks (in
// open(), on a FIFO) is killed and reported instead of hanging the test.
CliResult consume_bounded(Scenario& s, const std::filesystem::path& path) {
  CliProcess p(s.consume_args({"--sink", "file:" + path.string(), "--idle-exit-ms", "300"}), s.dir().path());
  auto r = p.wait_for(std::chrono::seconds(30));
  if (!r) {
    const auto killed = p.kill();
    INFO("stderr: ", killed.err);
    FAIL("consume was still running 30 s later (blocked on ", path.string(), "; killed)");
  }
  return *r;
}

}  // namespace

TEST_CASE("a garbage or unreadable Redis copy and no local copy: a first run writes a new sink file from the start") {
  struct Case {
    std::string name;
    std::vector<std::string> spoil;
    const char* reason;
  };
  const std::vector<Case> cases = {
      {"garbage fields",
       {"HSET", "streamckpt:{orders}:billing:edge-7", "id", "garbage", "pos", "x", "epoch", "y"},
       "redis copy: invalid (field id 'garbage' is not a stream ID)"},
      {"not a hash",
       {"SET", "streamckpt:{orders}:billing:edge-7", "x"},
       "redis copy: invalid (the key holds a value that is not a hash)"},
  };
  for (const auto& c : cases) {
    for (const bool file_exists : {false, true}) {
      CAPTURE(c.name);
      CAPTURE(file_exists);
      Scenario s;
      const auto ids = s.produce(10);
      s.redis().run(c.spoil);
      const auto file = s.dir().path() / "out.jsonl";
      if (file_exists) std::ofstream(file).flush();  // empty: nothing in it to cut, nothing to lose
      const auto r = s.consume({"--sink", "file:" + file.string(), "--idle-exit-ms", "300"});
      INFO("stderr: ", r.err);
      REQUIRE(r.exit_code == 0);
      CHECK(contains(
          r.err, "streamckpt: resume after 0-0 (source: start-policy); local copy: absent; " + std::string(c.reason)));
      CHECK(handled_numbers(read_file(file)) == Scenario::range(1, 10));
      // Garbage fields are overwritten by the first write-through; a key of
      // another type is left alone (see the Redis copy's schema).
      if (c.spoil[0] == "HSET")
        CHECK(s.hash_field("id") == ids.back());
      else
        CHECK(s.redis().run({"GET", s.hash_key()})->str == std::string("x"));
      CHECK(contains(r.err, "streamckpt: stopped after 10 events; checkpoint " + ids.back() + "\n"));
    }
  }
}

TEST_CASE("a garbage Redis copy, no local copy and a sink file with lines: refused, naming the file and its size") {
  Scenario s;
  s.produce(10);
  s.redis().run({"HSET", s.hash_key(), "id", "garbage"});
  const auto file = s.dir().path() / "out.jsonl";
  const std::string lines = "{\"id\":\"1-1\",\"fields\":{\"n\":\"1\"}}\n";
  std::ofstream(file) << lines;
  const auto r = s.consume({"--sink", "file:" + file.string(), "--idle-exit-ms", "300"});
  CHECK(r.exit_code == 1);
  CHECK(contains(r.err, "\nstreamckpt: error: sink file " + file.string() + " has " + std::to_string(lines.size()) +
                            " bytes, and no valid checkpoint records how many of them were handled (see the resume "
                            "line above), so the file cannot be cut back to what was handled; move the file away, "
                            "then give the checkpoint a valid value with 'streamckpt checkpoint set' (or delete it "
                            "with 'checkpoint reset': the file then starts empty)\n"));
  CHECK(read_file(file) == lines);
  CHECK(s.hash_field("id") == "garbage");
}

TEST_CASE("a sink path that is not a regular file is refused at once, naming it, and nothing is changed") {
  struct Case {
    std::string name;
    std::function<std::filesystem::path(const std::filesystem::path& dir)> make;
    const char* what;
  };
  std::unique_ptr<BoundSocket> socket;
  const std::vector<Case> cases = {
      {"FIFO",
       [](const std::filesystem::path& dir) {
         const auto p = dir / "fifo";
         REQUIRE(::mkfifo(p.c_str(), 0600) == 0);
         return p;
       },
       "a FIFO (named pipe)"},
      {"symlink to a FIFO",
       [](const std::filesystem::path& dir) {
         REQUIRE(::mkfifo((dir / "fifo").c_str(), 0600) == 0);
         std::filesystem::create_symlink(dir / "fifo", dir / "link");
         return dir / "link";
       },
       "a FIFO (named pipe)"},
      {"character device", [](const std::filesystem::path&) { return std::filesystem::path("/dev/null"); },
       "a character device"},
      {"directory",
       [](const std::filesystem::path& dir) {
         std::filesystem::create_directory(dir / "out");
         return dir / "out";
       },
       "a directory"},
      {"socket",
       [&socket](const std::filesystem::path& dir) {
         socket = std::make_unique<BoundSocket>(dir / "sock");
         return dir / "sock";
       },
       "a socket"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    Scenario s;
    s.produce(5);
    const auto path = c.make(s.dir().path());
    const auto type = std::filesystem::symlink_status(path).type();
    const auto r = consume_bounded(s, path);
    CHECK(r.exit_code == 1);
    CHECK(r.err == "streamckpt: error: sink file " + path.string() + " is " + c.what +
                       ": the file sink writes only a regular file, which it can cut back to the checkpoint on start; "
                       "choose a regular file (--sink stdout writes to a pipe)\n");
    CHECK(r.out.empty());
    // Refused before start-up: no data directory, no group, no Redis copy.
    CHECK(!std::filesystem::exists(s.data_dir()));
    auto groups = s.redis().run({"XINFO", "GROUPS", "orders"});
    REQUIRE(groups->type == REDIS_REPLY_ARRAY);
    CHECK(groups->elements == 0);
    CHECK(s.redis().run({"EXISTS", s.hash_key()})->integer == 0);
    CHECK(std::filesystem::symlink_status(path).type() == type);
    socket.reset();
  }
}

TEST_CASE("a sink file the sink creates is 0600 whatever the umask; an existing file keeps its mode") {
  Scenario s;
  s.produce(10);
  const Umask umask(022);
  const auto created = s.dir().path() / "new.jsonl";
  REQUIRE(s.consume({"--sink", "file:" + created.string(), "--max-events", "5"}).exit_code == 0);
  CHECK(mode_of(created) == 0600);

  // A symlink's missing target is created the same way.
  const auto target = s.dir().path() / "target.jsonl";
  const auto link = s.dir().path() / "link.jsonl";
  std::filesystem::create_symlink(target, link);
  Scenario other;
  other.produce(3);
  REQUIRE(other.consume({"--sink", "file:" + link.string(), "--idle-exit-ms", "300"}).exit_code == 0);
  CHECK(mode_of(target) == 0600);
  CHECK(handled_numbers(read_file(target)) == Scenario::range(1, 3));

  // The owner's choice for a file that exists stays.
  const auto existing = s.dir().path() / "existing.jsonl";
  std::ofstream(existing).flush();
  REQUIRE(::chmod(existing.c_str(), 0640) == 0);
  Scenario third;
  third.produce(2);
  REQUIRE(third.consume({"--sink", "file:" + existing.string(), "--idle-exit-ms", "300"}).exit_code == 0);
  CHECK(mode_of(existing) == 0640);
  CHECK(handled_numbers(read_file(existing)) == Scenario::range(1, 2));
}

TEST_CASE("a sink file deleted since its checkpoint was made: refused as missing, and not left behind empty") {
  Scenario s;
  s.produce(10);
  const auto file = s.dir().path() / "out.jsonl";
  REQUIRE(s.consume({"--sink", "file:" + file.string(), "--max-events", "5"}).exit_code == 0);
  const auto length = std::filesystem::file_size(file);
  std::filesystem::remove(file);
  const auto r = s.consume({"--sink", "file:" + file.string(), "--idle-exit-ms", "300"});
  CHECK(r.exit_code == 1);
  CHECK(contains(r.err, "\nstreamckpt: error: sink file " + file.string() +
                            " does not exist, but its checkpoint records " + std::to_string(length) +
                            " bytes of it: it was deleted or moved; restore it or reset the checkpoint\n"));
  CHECK(!std::filesystem::exists(file));
}
