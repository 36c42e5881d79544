// FaultyFs: a RocksDB FileSystem that fails writes on demand and can forget
// everything that was never synced, the way a full or failing disk and a
// power cut would.
//
// Every writable file RocksDB opens through it (NewWritableFile,
// ReopenWritableFile, ReuseWritableFile) is wrapped: Append fails while an
// append fault is set, Sync/Fsync/RangeSync fail while a sync fault is set,
// Flush fails while a flush fault is set. A failed call writes nothing to the
// underlying file. Faults may be limited to some kinds of files (the WAL, the
// MANIFEST, ...). The switches are atomics: flip them from the test thread
// while RocksDB runs on its own threads.
//
// Per file it remembers how many bytes were appended and how many were synced
// by the last successful Sync/Fsync (RangeSync and Close do not count).
//
// hold_syncs() makes Sync/Fsync block until release_syncs(): a disk that
// stalls, for as long as the test wants.
// drop_unsynced_data() truncates every tracked file to its synced length:
// call it after the database is closed to simulate a power loss. The model is
// the data only: directory entries are not (a created, never synced file
// survives empty; a rename is durable at once), and a reused (recycled) WAL
// file is cut at its synced length, stale tail included.
//
//   auto fs = std::make_shared<FaultyFs>();
//   auto env = rocksdb::NewCompositeEnv(fs);
//   options.env = env.get();           // ConsumerOptions or LocalStoreOptions
//   fs->fail_syncs(FaultyFs::Error::no_space);
//   ...
//   fs->heal();
#pragma once

#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace streamckpt::test {

class FaultyFs final : public rocksdb::FileSystemWrapper {
 public:
  // What a failing call returns.
  enum class Error : int {
    none = 0,
    no_space = 1,  // ENOSPC: IOStatus::NoSpace
    io_error = 2,  // EIO: IOStatus::IOError
  };

  // Which files a fault applies to (a bit mask), by RocksDB's file names.
  enum FileKind : unsigned {
    wal = 1u << 0,       // NNNNNN.log
    manifest = 1u << 1,  // MANIFEST-NNNNNN
    table = 1u << 2,     // NNNNNN.sst
    other = 1u << 3,     // OPTIONS-*, CURRENT and its temporary, LOCK, IDENTITY, ...
    all = wal | manifest | table | other,
  };
  static FileKind kind_of(const std::string& path);

  explicit FaultyFs(const std::shared_ptr<rocksdb::FileSystem>& base = rocksdb::FileSystem::Default());
  ~FaultyFs() override;

  const char* Name() const override { return "FaultyFs"; }

  // --- fault switches (thread-safe) -----------------------------------------
  // Fail with `e` on files of `kinds`: every call while the fault is set, or
  // only the next `count` calls (count >= 0).
  void fail_appends(Error e, unsigned kinds = all, long count = -1);
  void fail_syncs(Error e, unsigned kinds = all, long count = -1);  // Sync, Fsync, RangeSync
  void fail_flushes(Error e, unsigned kinds = all, long count = -1);
  // Every fault off.
  void heal();
  // Sync/Fsync of files of `kinds` block from now until release_syncs().
  // Release before the database closes: closing syncs too.
  void hold_syncs(unsigned kinds = wal);
  void release_syncs();
  std::uint64_t held_syncs() const;  // syncs blocked right now

  // --- counters (thread-safe) -------------------------------------------------
  std::uint64_t syncs() const { return syncs_.load(); }          // successful syncs, any file
  std::uint64_t wal_syncs() const { return wal_syncs_.load(); }  // successful syncs of WAL files
  std::uint64_t failed_syncs() const { return failed_syncs_.load(); }
  std::uint64_t failed_appends() const { return failed_appends_.load(); }
  std::uint64_t failed_flushes() const { return failed_flushes_.load(); }
  std::uint64_t wal_appended_bytes() const { return wal_appended_bytes_.load(); }

  // --- power loss -------------------------------------------------------------
  struct Tracked {
    std::string path;
    std::uint64_t size = 0;    // bytes in the file as far as this FS knows
    std::uint64_t synced = 0;  // bytes covered by the last successful sync
  };
  std::vector<Tracked> tracked() const;
  // Truncates every tracked file to its synced length and returns the number
  // of bytes dropped. REQUIRES: no file of this FS is open for writing (the
  // database is closed).
  std::uint64_t drop_unsynced_data();

  // --- FileSystem overrides ----------------------------------------------------
  rocksdb::IOStatus NewWritableFile(const std::string& fname, const rocksdb::FileOptions& opts,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReopenWritableFile(const std::string& fname, const rocksdb::FileOptions& opts,
                                       std::unique_ptr<rocksdb::FSWritableFile>* result,
                                       rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReuseWritableFile(const std::string& fname, const std::string& old_fname,
                                      const rocksdb::FileOptions& opts,
                                      std::unique_ptr<rocksdb::FSWritableFile>* result,
                                      rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus DeleteFile(const std::string& fname, const rocksdb::IOOptions& opts,
                               rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus RenameFile(const std::string& src, const std::string& target, const rocksdb::IOOptions& opts,
                               rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus Truncate(const std::string& fname, size_t size, const rocksdb::IOOptions& opts,
                             rocksdb::IODebugContext* dbg) override;

 private:
  struct FileState;
  class File;  // the writable file wrapper

  rocksdb::IOStatus check(Error e, unsigned kinds, std::atomic<long>& budget, const FileState& file,
                          std::atomic<std::uint64_t>& failures, const char* op) const;
  std::atomic<int> append_error_{0}, sync_error_{0}, flush_error_{0};
  std::atomic<long> append_budget_{-1}, sync_budget_{-1}, flush_budget_{-1};  // -1: unlimited
  std::atomic<unsigned> append_kinds_{all}, sync_kinds_{all}, flush_kinds_{all};
  std::atomic<std::uint64_t> syncs_{0}, wal_syncs_{0}, failed_syncs_{0}, failed_appends_{0}, failed_flushes_{0},
      wal_appended_bytes_{0};

  void wait_while_held(FileKind kind);
  mutable std::mutex hold_mutex_;  // guards hold_kinds_ and held_
  std::condition_variable released_;
  unsigned hold_kinds_ = 0;
  std::uint64_t held_ = 0;

  std::shared_ptr<FileState> track(const std::string& fname, std::uint64_t size, std::uint64_t synced);
  void wrap(const std::shared_ptr<FileState>& state, std::unique_ptr<rocksdb::FSWritableFile>* result);

  mutable std::mutex mutex_;  // guards files_ and every FileState's fields
  std::map<std::string, std::shared_ptr<FileState>> files_;
};

}  // namespace streamckpt::test
