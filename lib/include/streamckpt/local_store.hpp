// LocalStore: the local copy of checkpoints, in RocksDB.
//
// One RocksDB database per data directory, with the column family
// "checkpoints" plus any column families the application asks for (for its
// own state, written in the same batch as a checkpoint: transactional ack).
// Every commit is one WriteBatch written with WriteOptions::sync = true: when
// commit() returns success, the checkpoint survives a crash or power loss.
//
// Thread safety: RocksDB is thread-safe, but every call here blocks on disk.
// Call it from a thread that may block (the consumer uses its committer
// thread), never from an io_context thread.
#pragma once

#include <streamckpt/checkpoint.hpp>
#include <streamckpt/error.hpp>

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

// RocksDB's types, named only: a caller of db() or of the WriteBatch
// functions includes <rocksdb/db.h> or <rocksdb/write_batch.h> itself.
namespace rocksdb {
class ColumnFamilyHandle;
class DB;
class Env;
class WriteBatch;
}  // namespace rocksdb

namespace streamckpt {

struct LocalStoreOptions {
  // The data directory; created when missing. Required.
  std::filesystem::path dir;
  // Application column families, opened (and created when missing) beside
  // "checkpoints". Default: none.
  std::vector<std::string> column_families;
  // Memtable size per column family. Default 1 MiB: checkpoints are tiny.
  std::size_t write_buffer_bytes = 1 << 20;
  // Block cache. Default 1 MiB.
  std::size_t block_cache_bytes = 1 << 20;
  // WAL size that triggers a memtable flush. Default 8 MiB. Durability is not
  // affected: the WAL is always on and every commit syncs it.
  std::uint64_t max_wal_bytes = 8 << 20;
  // File-system environment, for fault injection in tests: only its
  // FileSystem is used (clock and threads are RocksDB's default Env's).
  // Default: RocksDB's.
  rocksdb::Env* env = nullptr;
  // Open without taking the directory's lock, for inspection beside a running
  // consumer (commits then fail). The directory must hold a store already;
  // column families it lacks (a creation cut short) are left out, and a
  // missing checkpoints family reads as no checkpoint.
  bool read_only = false;
};

class LocalStore {
 public:
  // Opens (creating when needed) the store in options.dir. A missing
  // directory is created 0700 (its parents as the umask says); an empty one
  // is used. A non-empty directory that holds no streamckpt store fails with
  // errc::store_foreign, and nothing is written into it. A new store whose
  // first open fails (a full disk) is removed again. A directory held by
  // another process fails with errc::store_locked; other failures with
  // errc::store_io or errc::store_corruption. `detail`, when given, receives
  // the reason (RocksDB's own message for its failures).
  [[nodiscard]] static Result<std::unique_ptr<LocalStore>> open(const LocalStoreOptions& options,
                                                                std::string* detail = nullptr);
  ~LocalStore();
  LocalStore(const LocalStore&) = delete;
  LocalStore& operator=(const LocalStore&) = delete;

  // The stored checkpoint for `key`: absent, valid, or invalid with the
  // reason (bad CRC, truncation, a record stored under another key...). An
  // invalid record is reported, never deleted.
  CheckpointCopy read(const CheckpointKey& key) const;

  // Every stored record. A key that cannot be decoded is skipped and counted
  // in `undecodable`.
  struct Listed {
    CheckpointKey key;
    CheckpointCopy copy;
  };
  std::vector<Listed> list(std::size_t* undecodable = nullptr) const;

  // The entries of a consumer (group mode) that were handled and whose XACK
  // may not have reached Redis: the entries of its pending list that only
  // need an XACK. Any other pending entry was never handled by it (one
  // claimed from another consumer, say), whatever its ID.
  struct Unacked {
    CheckpointKey key;
    std::vector<StreamId> ids;
  };
  // As last committed; empty when none was. A record that fails its CRC is an
  // error (its entries are then handed out again: duplicates, never losses).
  [[nodiscard]] Result<std::vector<StreamId>> read_unacked(const CheckpointKey& key) const;

  // Writes the checkpoints and the unacked lists (each replaces the key's
  // earlier list), then `extra`, in one synced WriteBatch.
  [[nodiscard]] boost::system::error_code commit(const std::vector<Checkpoint>& checkpoints,
                                                 const rocksdb::WriteBatch* extra = nullptr,
                                                 std::string* detail = nullptr,
                                                 const std::vector<Unacked>& unacked = {});

  // Deletes a checkpoint (synced).
  [[nodiscard]] boost::system::error_code remove(const CheckpointKey& key);

  // Closes and reopens the database: RocksDB stays in a read-only error state
  // after a WAL I/O error until it is reopened.
  [[nodiscard]] boost::system::error_code reopen(std::string* detail = nullptr);

  // An application column family named in the options; nullptr otherwise.
  // The handle dies with a reopen(): for direct use of a store that no
  // consumer is committing to.
  rocksdb::ColumnFamilyHandle* column_family(const std::string& name) const;
  // A handle to an application column family for building WriteBatches only
  // (it carries the name, ID and comparator; the DB itself rejects it). It
  // stays valid across reopen() for the store's whole life, so an
  // application may hold it while storage fails. nullptr when unknown.
  rocksdb::ColumnFamilyHandle* batch_handle(const std::string& name) const;
  // Whether `batch` may go into a commit: errc::unknown_column_family when
  // an operation targets a column family this store does not have (or the
  // checkpoints' own), errc::effects_refused when one is a Merge (the
  // families have no merge operator: RocksDB would reject the write) or
  // another operation the store cannot apply; empty when neither.
  [[nodiscard]] boost::system::error_code check_effects(const rocksdb::WriteBatch& batch) const;
  bool accepts(const rocksdb::WriteBatch& batch) const { return !check_effects(batch); }
  // Reads one key of an application column family. Thread-safe, also while
  // the committer reopens the store; store_closed while it is closed.
  [[nodiscard]] Result<std::optional<std::string>> get(const std::string& family, std::string_view key) const;
  // REQUIRES: no other thread commits or reopens (direct use only).
  rocksdb::DB& db() const { return *db_; }
  // A random ID made when the store was created: it names this instance (its
  // lease owner) across restarts and crashes. Empty for a read-only store
  // that has none.
  const std::string& instance_id() const { return instance_id_; }
  const std::filesystem::path& dir() const { return options_.dir; }

  // Appends every operation of `src` to `dst` (RocksDB has no public
  // WriteBatch::Append). Operations on column families this store does not
  // know fail with errc::store_io.
  [[nodiscard]] boost::system::error_code append(rocksdb::WriteBatch& dst, const rocksdb::WriteBatch& src) const;

 private:
  explicit LocalStore(LocalStoreOptions options);
  boost::system::error_code open_db(std::string* detail);
  boost::system::error_code prepare_directory(std::string* detail);
  boost::system::error_code write_marker(std::string* detail);
  void remove_created();
  boost::system::error_code open_rocksdb(std::string* detail);
  boost::system::error_code load_instance_id(std::string* detail);
  boost::system::error_code append_unlocked(rocksdb::WriteBatch& dst, const rocksdb::WriteBatch& src) const;
  void close_db();

  struct HandleDeleter {
    rocksdb::DB* db;
    void operator()(rocksdb::ColumnFamilyHandle* h) const;
  };
  using Handle = std::unique_ptr<rocksdb::ColumnFamilyHandle, HandleDeleter>;

  class BatchHandle;

  LocalStoreOptions options_;
  std::unique_ptr<rocksdb::Env> env_;  // outlives db_
  // Guards db_ and the handles: reopen() replaces them on the committer
  // thread while other threads read.
  mutable std::shared_mutex mutex_;
  std::unique_ptr<rocksdb::DB> db_;
  std::map<std::string, std::unique_ptr<BatchHandle>, std::less<>> batch_handles_;
  Handle checkpoints_;
  std::map<std::string, Handle, std::less<>> app_families_;
  std::string instance_id_;
  bool opened_once_ = false;  // the directory was checked and opened once
  bool created_ = false;      // this open() made the store: remove it again if it fails
  bool created_dir_ = false;  // ... and the directory itself
};

}  // namespace streamckpt
