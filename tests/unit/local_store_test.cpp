// LocalStore: the RocksDB copy of checkpoints, on a fresh directory per test;
// and the Committer, the thread that writes to it.
#include <streamckpt/local_store.hpp>

#include "../support/sanitizer.hpp"
#include "local/committer.hpp"

#include <doctest/doctest.h>

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <csignal>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <vector>

using streamckpt::Checkpoint;
using streamckpt::CheckpointCopy;
using streamckpt::CheckpointKey;
using streamckpt::errc;
using streamckpt::LocalStore;
using streamckpt::LocalStoreOptions;
using streamckpt::StreamId;
using streamckpt::test::k_thread_sanitizer;
namespace fs = std::filesystem;
namespace record = streamckpt::record;

namespace {

// A fresh directory, removed with everything in it when the guard goes.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "streamckpt-unit-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const { return path_; }
  fs::path db() const { return path_ / "db"; }

 private:
  fs::path path_;
};

std::unique_ptr<LocalStore> open_store(const LocalStoreOptions& options) {
  std::string detail;
  auto store = LocalStore::open(options, &detail);
  INFO("LocalStore::open: ", detail);
  REQUIRE(store.has_value());
  return std::move(*store);
}

std::unique_ptr<LocalStore> open_store(const fs::path& dir) {
  LocalStoreOptions options;
  options.dir = dir;
  return open_store(options);
}

Checkpoint sample(CheckpointKey key, StreamId id) {
  Checkpoint c;
  c.key = std::move(key);
  c.id = id;
  c.epoch = 2;
  c.updated_ms = 1700000000456ULL;
  c.entries_seen = 77;
  c.metadata = "app-state";
  return c;
}

void check_same(const Checkpoint& got, const Checkpoint& want) {
  CHECK(got.key == want.key);
  CHECK(got.id == want.id);
  CHECK(got.epoch == want.epoch);
  CHECK(got.updated_ms == want.updated_ms);
  CHECK(got.entries_seen == want.entries_seen);
  CHECK(got.metadata == want.metadata);
}

// The database opened by hand, with every column family it has, to plant raw
// values in "checkpoints" behind the store's back.
class RawDb {
 public:
  explicit RawDb(const fs::path& dir) {
    rocksdb::DBOptions options;
    std::vector<std::string> names;
    REQUIRE(rocksdb::DB::ListColumnFamilies(options, dir.string(), &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    for (const auto& n : names) families.emplace_back(n, rocksdb::ColumnFamilyOptions());
    rocksdb::DB* raw = nullptr;
    const auto s = rocksdb::DB::Open(options, dir.string(), families, &handles_, &raw);
    INFO(s.ToString());
    REQUIRE(s.ok());
    db_.reset(raw);
    for (std::size_t i = 0; i < names.size(); ++i)
      if (names[i] == "checkpoints") checkpoints_ = handles_[i];
    REQUIRE(checkpoints_ != nullptr);
  }
  ~RawDb() {
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
    db_->Close().PermitUncheckedError();
  }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  void put(const std::string& key, const std::string& value) {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    REQUIRE(db_->Put(wo, checkpoints_, key, value).ok());
  }
  bool get(const std::string& key, std::string& value) {
    return db_->Get(rocksdb::ReadOptions(), checkpoints_, key, &value).ok();
  }

 private:
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::ColumnFamilyHandle* checkpoints_ = nullptr;
};

// Records the operations of a WriteBatch.
struct Recorder final : rocksdb::WriteBatch::Handler {
  std::vector<std::string> ops;
  rocksdb::Status PutCF(std::uint32_t cf, const rocksdb::Slice& k, const rocksdb::Slice& v) override {
    ops.push_back("put " + std::to_string(cf) + " " + k.ToString() + "=" + v.ToString());
    return rocksdb::Status::OK();
  }
  rocksdb::Status DeleteCF(std::uint32_t cf, const rocksdb::Slice& k) override {
    ops.push_back("delete " + std::to_string(cf) + " " + k.ToString());
    return rocksdb::Status::OK();
  }
};

std::vector<std::string> ops_of(const rocksdb::WriteBatch& batch) {
  Recorder r;
  REQUIRE(batch.Iterate(&r).ok());
  return r.ops;
}

}  // namespace

TEST_CASE("a committed checkpoint survives close and reopen exactly") {
  TempDir tmp;
  const auto group = sample({"orders", "billing", "w1"}, StreamId(1700000000000ULL, 5));
  const auto plain = sample({"orders", "", "reader"}, StreamId(9, 0));
  {
    auto store = open_store(tmp.db());
    REQUIRE_FALSE(store->commit({group, plain}));
  }
  auto store = open_store(tmp.db());
  const auto a = store->read(group.key);
  REQUIRE(a.state == CheckpointCopy::State::valid);
  REQUIRE(a.checkpoint.has_value());
  check_same(*a.checkpoint, group);
  CHECK(a.reason.empty());

  const auto b = store->read(plain.key);
  REQUIRE(b.valid());
  check_same(*b.checkpoint, plain);
}

TEST_CASE("a later commit of the same key replaces the earlier one") {
  TempDir tmp;
  auto store = open_store(tmp.db());
  auto c = sample({"s", "g", "c"}, StreamId(1, 0));
  REQUIRE_FALSE(store->commit({c}));
  c.id = StreamId(2, 3);
  c.metadata = "newer";
  REQUIRE_FALSE(store->commit({c}));
  const auto copy = store->read(c.key);
  REQUIRE(copy.valid());
  check_same(*copy.checkpoint, c);
}

TEST_CASE("reading a key that was never committed is absent") {
  TempDir tmp;
  auto store = open_store(tmp.db());
  REQUIRE_FALSE(store->commit({sample({"s", "g", "c"}, StreamId(1, 0))}));
  const auto copy = store->read({"s", "g", "other"});
  CHECK(copy.state == CheckpointCopy::State::absent);
  CHECK_FALSE(copy.checkpoint.has_value());
  CHECK(copy.reason.empty());
}

TEST_CASE("read-only, a store whose creation was cut short before its families has no checkpoints") {
  TempDir tmp;
  {
    rocksdb::Options o;
    o.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    REQUIRE(rocksdb::DB::Open(o, tmp.db().string(), &raw).ok());  // the default family only
    delete raw;
  }
  LocalStoreOptions o;
  o.dir = tmp.db();
  o.read_only = true;
  std::string detail;
  auto store = LocalStore::open(o, &detail);
  REQUIRE_MESSAGE(store, detail);
  CHECK((*store)->read({"s", "g", "c"}).state == CheckpointCopy::State::absent);
  CHECK((*store)->list().empty());
}

TEST_CASE("a record stored under key A that names key B is reported invalid") {
  TempDir tmp;
  const CheckpointKey a{"orders", "g", "a"};
  const CheckpointKey b{"orders", "g", "b"};
  open_store(tmp.db());  // creates the database and its column families
  {
    RawDb raw(tmp.db());
    raw.put(record::encode_key(a), record::encode(sample(b, StreamId(5, 0))));
  }
  auto store = open_store(tmp.db());
  const auto copy = store->read(a);
  CHECK(copy.state == CheckpointCopy::State::invalid);
  CHECK_FALSE(copy.checkpoint.has_value());
  CHECK(copy.reason == make_error_code(errc::record_key_mismatch).message());
  CHECK(store->read(b).state == CheckpointCopy::State::absent);
}

TEST_CASE("a record with a flipped bit is reported invalid and is not deleted") {
  TempDir tmp;
  const CheckpointKey key{"orders", "", "c"};
  const auto c = sample(key, StreamId(5, 0));
  {
    auto store = open_store(tmp.db());
    REQUIRE_FALSE(store->commit({c}));
  }
  auto damaged = record::encode(c);
  damaged[10] = static_cast<char>(damaged[10] ^ 0x10);
  {
    RawDb raw(tmp.db());
    raw.put(record::encode_key(key), damaged);
  }
  {
    auto store = open_store(tmp.db());
    for (int i = 0; i < 2; ++i) {  // reading twice: the first read must not delete it
      const auto copy = store->read(key);
      CHECK(copy.state == CheckpointCopy::State::invalid);
      CHECK_FALSE(copy.checkpoint.has_value());
      CHECK(copy.reason.find("CRC") != std::string::npos);
    }
    std::size_t undecodable = 99;
    const auto listed = store->list(&undecodable);
    CHECK(undecodable == 0);
    REQUIRE(listed.size() == 1);
    CHECK(listed[0].key == key);
    CHECK(listed[0].copy.state == CheckpointCopy::State::invalid);
  }
  RawDb raw(tmp.db());
  std::string value;
  REQUIRE(raw.get(record::encode_key(key), value));
  CHECK(value == damaged);
}

TEST_CASE("a truncated record is reported invalid with the truncation as reason") {
  TempDir tmp;
  const CheckpointKey key{"orders", "", "c"};
  open_store(tmp.db());
  {
    RawDb raw(tmp.db());
    raw.put(record::encode_key(key), "\x01\x02");
  }
  auto store = open_store(tmp.db());
  const auto copy = store->read(key);
  CHECK(copy.state == CheckpointCopy::State::invalid);
  CHECK(copy.reason == make_error_code(errc::record_truncated).message());
}

TEST_CASE("list() returns every stored key and skips undecodable keys") {
  TempDir tmp;
  std::vector<Checkpoint> all = {
      sample({"a", "", "c1"}, StreamId(1, 0)),
      sample({"a", "g", "c1"}, StreamId(2, 0)),
      sample({"a", "g", "c2"}, StreamId(3, 0)),
      sample({"b", "g", "c1"}, StreamId(4, 0)),
  };
  {
    auto store = open_store(tmp.db());
    REQUIRE_FALSE(store->commit(all));
  }
  {
    RawDb raw(tmp.db());
    raw.put("not a key", "whatever");
  }
  auto store = open_store(tmp.db());
  std::size_t undecodable = 0;
  auto listed = store->list(&undecodable);
  CHECK(undecodable == 1);
  REQUIRE(listed.size() == all.size());
  for (const auto& want : all) {
    CAPTURE(want.key.describe());
    const auto it =
        std::find_if(listed.begin(), listed.end(), [&](const LocalStore::Listed& l) { return l.key == want.key; });
    REQUIRE(it != listed.end());
    REQUIRE(it->copy.valid());
    check_same(*it->copy.checkpoint, want);
  }
}

TEST_CASE("remove() deletes a checkpoint durably") {
  TempDir tmp;
  const auto keep = sample({"s", "g", "keep"}, StreamId(1, 0));
  const auto gone = sample({"s", "g", "gone"}, StreamId(2, 0));
  {
    auto store = open_store(tmp.db());
    REQUIRE_FALSE(store->commit({keep, gone}));
    REQUIRE_FALSE(store->remove(gone.key));
    CHECK(store->read(gone.key).state == CheckpointCopy::State::absent);
  }
  auto store = open_store(tmp.db());
  CHECK(store->read(gone.key).state == CheckpointCopy::State::absent);
  CHECK(store->read(keep.key).valid());
  CHECK(store->list().size() == 1);
}

TEST_CASE("commit refuses oversize metadata and invalid keys, writing nothing") {
  TempDir tmp;
  auto store = open_store(tmp.db());
  const auto ok = sample({"s", "", "ok"}, StreamId(1, 0));
  auto big = sample({"s", "", "big"}, StreamId(1, 0));
  big.metadata.assign(Checkpoint::k_max_metadata_bytes + 1, 'm');
  CHECK(store->commit({ok, big}) == errc::metadata_too_large);
  auto bad_key = sample({"", "", "c"}, StreamId(1, 0));
  CHECK(store->commit({ok, bad_key}) == errc::invalid_key);
  CHECK(store->read(ok.key).state == CheckpointCopy::State::absent);
  CHECK(store->list().empty());
}

TEST_CASE("a second open of the same directory in this process fails with store_locked") {
  TempDir tmp;
  auto first = open_store(tmp.db());
  LocalStoreOptions options;
  options.dir = tmp.db();
  std::string detail;
  const auto second = LocalStore::open(options, &detail);
  REQUIRE_FALSE(second.has_value());
  CHECK(second.error() == errc::store_locked);
  CHECK_FALSE(detail.empty());
}

TEST_CASE("opening a directory held by another process fails with store_locked") {
  TempDir tmp;
  // Fork before the parent opens the store, so that the child shares none of
  // RocksDB's in-process lock bookkeeping: only the file lock can stop it.
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::close(ready[1]);
    ::alarm(60);  // never outlive a stuck parent
    char byte = 0;
    if (::read(ready[0], &byte, 1) != 1) ::_exit(10);
    LocalStoreOptions options;
    options.dir = tmp.db();
    const auto store = LocalStore::open(options);
    if (store) ::_exit(0);
    ::_exit(store.error() == errc::store_locked ? 1 : 2);
  }
  ::close(ready[0]);
  {
    auto store = open_store(tmp.db());
    REQUIRE(::write(ready[1], "x", 1) == 1);
    ::close(ready[1]);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    // 1: store_locked; 0 would mean the child opened a held directory.
    CHECK(WEXITSTATUS(status) == 1);
  }
  // Once released, the directory opens again.
  CHECK(open_store(tmp.db()) != nullptr);
}

TEST_CASE("an application column family is available and commits with the checkpoint") {
  TempDir tmp;
  LocalStoreOptions options;
  options.dir = tmp.db();
  options.column_families = {"app"};
  const auto c = sample({"s", "g", "c"}, StreamId(8, 1));
  {
    auto store = open_store(options);
    auto* app = store->column_family("app");
    REQUIRE(app != nullptr);
    CHECK(app->GetName() == "app");
    CHECK(store->column_family("checkpoints") == nullptr);
    CHECK(store->column_family("missing") == nullptr);
    rocksdb::WriteBatch extra;
    REQUIRE(extra.Put(app, "balance", "42").ok());
    REQUIRE_FALSE(store->commit({c}, &extra));
  }
  auto store = open_store(options);
  auto* app = store->column_family("app");
  REQUIRE(app != nullptr);
  std::string value;
  REQUIRE(store->db().Get(rocksdb::ReadOptions(), app, "balance", &value).ok());
  CHECK(value == "42");
  const auto copy = store->read(c.key);
  REQUIRE(copy.valid());
  check_same(*copy.checkpoint, c);
}

TEST_CASE("a column family created earlier but not named now is still opened") {
  TempDir tmp;
  LocalStoreOptions with_app;
  with_app.dir = tmp.db();
  with_app.column_families = {"app"};
  open_store(with_app);
  auto store = open_store(tmp.db());  // no column families named
  CHECK(store->column_family("app") != nullptr);
}

TEST_CASE("reopen() closes and opens the database again, keeping its data") {
  TempDir tmp;
  LocalStoreOptions options;
  options.dir = tmp.db();
  options.column_families = {"app"};
  auto store = open_store(options);
  const auto c = sample({"s", "", "c"}, StreamId(3, 3));
  REQUIRE_FALSE(store->commit({c}));
  std::string detail;
  REQUIRE_FALSE(store->reopen(&detail));
  CHECK(store->column_family("app") != nullptr);
  const auto copy = store->read(c.key);
  REQUIRE(copy.valid());
  check_same(*copy.checkpoint, c);
}

TEST_CASE("append() copies Put and Delete operations in order") {
  TempDir tmp;
  LocalStoreOptions options;
  options.dir = tmp.db();
  options.column_families = {"app"};
  auto store = open_store(options);
  auto* app = store->column_family("app");
  REQUIRE(app != nullptr);
  const auto app_id = std::to_string(app->GetID());
  const auto default_id = std::to_string(store->db().DefaultColumnFamily()->GetID());

  rocksdb::WriteBatch src;
  REQUIRE(src.Put(app, "k1", "v1").ok());
  REQUIRE(src.Delete(app, "k0").ok());
  REQUIRE(src.Put("dk", "dv").ok());  // default column family
  rocksdb::WriteBatch dst;
  REQUIRE(dst.Put(app, "first", "1").ok());

  REQUIRE_FALSE(store->append(dst, src));
  CHECK(dst.Count() == 4);
  const std::vector<std::string> want = {
      "put " + app_id + " first=1",
      "put " + app_id + " k1=v1",
      "delete " + app_id + " k0",
      "put " + default_id + " dk=dv",
  };
  CHECK(ops_of(dst) == want);
  CHECK(ops_of(src).size() == 3);  // the source is left as it was
}

TEST_CASE("append() refuses a column family the store does not know") {
  TempDir tmp;
  TempDir other_tmp;
  auto store = open_store(tmp.db());  // default (0) and checkpoints (1) only
  LocalStoreOptions other_options;
  other_options.dir = other_tmp.db();
  other_options.column_families = {"x", "y", "z"};
  auto other = open_store(other_options);
  auto* foreign = other->column_family("z");
  REQUIRE(foreign != nullptr);
  REQUIRE(foreign->GetID() > 1);

  rocksdb::WriteBatch src;
  REQUIRE(src.Put(foreign, "k", "v").ok());
  rocksdb::WriteBatch dst;
  CHECK(store->append(dst, src) == errc::store_io);

  // commit() with such an `extra` fails as a whole: not even the checkpoint lands.
  const auto c = sample({"s", "", "c"}, StreamId(1, 0));
  CHECK(store->commit({c}, &src) == errc::store_io);
  CHECK(store->read(c.key).state == CheckpointCopy::State::absent);
}

namespace {

// The store's live WAL files (NNNNNN.log) with their sizes.
std::vector<std::pair<fs::path, std::uintmax_t>> wal_files(const fs::path& dir) {
  std::vector<std::pair<fs::path, std::uintmax_t>> out;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().extension() == ".log") out.emplace_back(entry.path(), entry.file_size());
  std::sort(out.begin(), out.end());
  return out;
}

// Whether fallocate() can set a file's size in `dir` (RocksDB skips
// preallocation quietly where the file system cannot).
bool fallocate_sets_size(const fs::path& dir) {
  const auto probe = dir / "fallocate-probe";
  const int fd = ::open(probe.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
  REQUIRE(fd >= 0);
  const bool ok = ::fallocate(fd, 0, 0, 4096) == 0;
  ::close(fd);
  fs::remove(probe);
  return ok;
}

bool ends_in_zeros(const fs::path& file, std::size_t n) {
  std::FILE* f = std::fopen(file.c_str(), "rb");
  REQUIRE(f != nullptr);
  REQUIRE(std::fseek(f, -static_cast<long>(n), SEEK_END) == 0);
  std::vector<char> tail(n, 1);
  const auto got = std::fread(tail.data(), 1, n, f);
  std::fclose(f);
  return got == n && std::all_of(tail.begin(), tail.end(), [](char c) { return c == 0; });
}

}  // namespace

// ThreadSanitizer cannot follow a child forked, without exec, from a process
// with threads (RocksDB's pool): this case runs in every other build,
// AddressSanitizer's included.
TEST_CASE("a WAL left sized ahead of its data by kill -9 loses no commit and takes new ones" *
          doctest::skip(k_thread_sanitizer)) {
  TempDir tmp;
  const CheckpointKey key{"s", "g", "c"};
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::close(ready[0]);
    ::alarm(60);
    LocalStoreOptions options;
    options.dir = tmp.db();
    auto store = LocalStore::open(options);
    if (!store) ::_exit(2);
    for (std::uint64_t i = 1; i <= 300; ++i)
      if ((*store)->commit({sample(key, StreamId(i, 0))})) ::_exit(3);
    if (::write(ready[1], "x", 1) != 1) ::_exit(4);
    ::pause();  // killed here, the store still open
    ::_exit(5);
  }
  ::close(ready[1]);
  char byte = 0;
  REQUIRE(::read(ready[0], &byte, 1) == 1);
  ::close(ready[0]);
  REQUIRE(::kill(child, SIGKILL) == 0);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFSIGNALED(status));

  // 300 synced commits of about 200 bytes each, in a WAL whose size was set
  // ahead of them: it ends in zeros, not in the last record.
  const auto wals = wal_files(tmp.db());
  REQUIRE_FALSE(wals.empty());
  // Named copies, not structured bindings: clang 14 cannot capture those in
  // INFO's lambda.
  const auto live = wals.back().first;
  const auto size = wals.back().second;
  INFO(live.string(), " is ", size, " bytes");
  if (fallocate_sets_size(tmp.path())) {
    CHECK(size >= std::uintmax_t{1} << 20);
    CHECK(ends_in_zeros(live, 4096));
  } else {
    MESSAGE("this file system cannot preallocate: the WAL's layout is not checked");
  }

  {
    auto store = open_store(tmp.db());
    auto copy = store->read(key);
    REQUIRE(copy.valid());
    CHECK(copy.checkpoint->id == StreamId(300, 0));
    REQUIRE_FALSE(store->commit({sample(key, StreamId(301, 0))}));
  }
  // A clean close trims the WAL to what was written.
  for (const auto& wal : wal_files(tmp.db())) {
    INFO(wal.first.string());
    CHECK(wal.second < std::uintmax_t{1} << 20);
  }
  auto store = open_store(tmp.db());
  auto copy = store->read(key);
  REQUIRE(copy.valid());
  CHECK(copy.checkpoint->id == StreamId(301, 0));
}

TEST_CASE("the committer times its successful writes: one write is its own median, p99 and maximum") {
  TempDir tmp;
  auto store = open_store(tmp.db());
  const auto key = CheckpointKey{"orders", "billing", "w1"};
  std::promise<boost::system::error_code> written;
  {
    streamckpt::detail::Committer committer(*store);
    CHECK(committer.write_times().max_us == 0);  // nothing timed yet

    streamckpt::detail::Committer::Job job;
    job.checkpoints.push_back(sample(key, StreamId(5, 0)));
    job.done = [&](boost::system::error_code ec, const std::string&) { written.set_value(ec); };
    committer.submit(std::move(job));
    REQUIRE_FALSE(written.get_future().get());

    // A quantile is its histogram bucket's upper edge, above the sample
    // itself; the exact maximum caps it.
    const auto times = committer.write_times();
    CHECK(committer.writes() == 1);
    CHECK(times.max_us > 0);
    CHECK(times.p50_us == times.max_us);
    CHECK(times.p99_us == times.max_us);
  }
  CHECK(store->read(key).checkpoint->id == StreamId(5, 0));
}

// ---------------------------------------------------------------------------
// Which directories become a store: nothing is written into one that holds
// something else.

namespace {

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

std::string contents(const fs::path& path) {
  std::string out;
  if (FILE* f = std::fopen(path.c_str(), "rb")) {
    char buffer[256];
    while (const auto n = std::fread(buffer, 1, sizeof buffer, f)) out.append(buffer, n);
    std::fclose(f);
  }
  return out;
}

void write_file(const fs::path& path, const std::string& text) {
  FILE* f = std::fopen(path.c_str(), "wb");
  REQUIRE(f);
  std::fwrite(text.data(), 1, text.size(), f);
  std::fclose(f);
}

}  // namespace

TEST_CASE("a missing data directory is created 0700 whatever the umask, and its LOG 0600") {
  TempDir tmp;
  const auto old_mask = ::umask(022);
  { auto store = open_store(tmp.path() / "a" / "db"); }
  ::umask(old_mask);
  CHECK((fs::status(tmp.path() / "a" / "db").permissions() & fs::perms::all) == fs::perms::owner_all);
  CHECK((fs::status(tmp.path() / "a" / "db" / "LOG").permissions() & fs::perms::all) ==
        (fs::perms::owner_read | fs::perms::owner_write));
}

TEST_CASE("a non-empty directory that holds no store is refused, and nothing is written into it") {
  TempDir tmp;
  fs::create_directories(tmp.db());
  write_file(tmp.db() / "MANIFEST-000001", "someone else's manifest");
  write_file(tmp.db() / "notes.txt", "x");
  LocalStoreOptions o;
  o.dir = tmp.db();
  std::string detail;
  auto store = LocalStore::open(o, &detail);
  REQUIRE_FALSE(store);
  CHECK(store.error() == errc::store_foreign);
  CHECK(detail == tmp.db().string() +
                      " is not empty and holds no streamckpt store (it has 'MANIFEST-000001' and 1 more); use a new "
                      "or empty directory");
  CHECK(names_in(tmp.db()) == std::vector<std::string>{"MANIFEST-000001", "notes.txt"});
  CHECK(contents(tmp.db() / "MANIFEST-000001") == "someone else's manifest");
}

TEST_CASE("another application's RocksDB database is refused and keeps its families") {
  TempDir tmp;
  {
    rocksdb::Options o;
    o.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    REQUIRE(rocksdb::DB::Open(o, tmp.db().string(), &raw).ok());
    REQUIRE(raw->Put(rocksdb::WriteOptions(), "their", "data").ok());
    delete raw;
  }
  LocalStoreOptions o;
  o.dir = tmp.db();
  std::string detail;
  auto store = LocalStore::open(o, &detail);
  REQUIRE_FALSE(store);
  CHECK(store.error() == errc::store_foreign);
  std::vector<std::string> families;
  REQUIRE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), tmp.db().string(), &families).ok());
  CHECK(families == std::vector<std::string>{"default"});
}

TEST_CASE("a store made before stores were marked opens, and is marked from then on") {
  TempDir tmp;
  const CheckpointKey key{"s", "g", "c"};
  {
    auto store = open_store(tmp.db());
    REQUIRE_FALSE(store->commit({sample(key, StreamId{5, 1})}));
  }
  fs::remove(tmp.db() / "STREAMCKPT");
  auto store = open_store(tmp.db());
  CHECK(store->read(key).checkpoint->id == StreamId{5, 1});
  CHECK(fs::exists(tmp.db() / "STREAMCKPT"));
}

TEST_CASE("an empty directory, or one with only lost+found (an ext4 mount point), becomes a store") {
  TempDir tmp;
  fs::create_directories(tmp.db() / "lost+found");
  { auto store = open_store(tmp.db()); }
  CHECK(fs::exists(tmp.db() / "CURRENT"));
  CHECK(fs::exists(tmp.db() / "lost+found"));
}

TEST_CASE("a marked directory whose store creation was cut short becomes a store") {
  TempDir tmp;
  fs::create_directories(tmp.db());
  write_file(tmp.db() / "STREAMCKPT", "A streamckpt checkpoint store (RocksDB). Do not edit.\n");
  write_file(tmp.db() / "LOG", "");
  auto store = open_store(tmp.db());
  CHECK(store->read({"s", "g", "c"}).state == CheckpointCopy::State::absent);
}

TEST_CASE("a data directory path that is a file is refused as not a directory") {
  TempDir tmp;
  write_file(tmp.db(), "x");
  LocalStoreOptions o;
  o.dir = tmp.db();
  std::string detail;
  auto store = LocalStore::open(o, &detail);
  REQUIRE_FALSE(store);
  CHECK(store.error() == errc::store_foreign);
  CHECK(detail == tmp.db().string() + " is not a directory");
  CHECK(contents(tmp.db()) == "x");
}

TEST_CASE("the unacked list commits with the checkpoint, is replaced by the next, and an empty one deletes it") {
  TempDir tmp;
  const CheckpointKey key{"s", "g", "c"};
  {
    auto store = open_store(tmp.db());
    CHECK(store->read_unacked(key)->empty());
    REQUIRE_FALSE(
        store->commit({sample(key, StreamId{5, 0})}, nullptr, nullptr, {{key, {StreamId{3, 0}, StreamId{5, 0}}}}));
  }
  auto store = open_store(tmp.db());
  CHECK(*store->read_unacked(key) == std::vector<StreamId>{StreamId{3, 0}, StreamId{5, 0}});
  CHECK(store->list().size() == 1);  // not a checkpoint record
  REQUIRE_FALSE(store->commit({sample(key, StreamId{6, 0})}, nullptr, nullptr, {{key, {StreamId{6, 0}}}}));
  CHECK(*store->read_unacked(key) == std::vector<StreamId>{StreamId{6, 0}});
  REQUIRE_FALSE(store->commit({sample(key, StreamId{6, 0})}, nullptr, nullptr, {{key, {}}}));
  CHECK(store->read_unacked(key)->empty());
}
