// Store: one data directory's local checkpoints, shared by the consumers of a
// process.
//
// One RocksDB database and one committer thread per store. Any number of
// consumers (each with its own key) commit through it: the acks of all of
// them that arrive while a synced write is in progress go into the next one
// (group commit), so fifty consumers cost one fsync stream, not fifty. A
// failed write fails only the consumers whose acks it carried, each of which
// retries on its own; transactional acks stay per consumer. The lease owner
// (the store's instance ID) is the same for every consumer of a store.
//
//   auto store = streamckpt::Store::open({.dir = "/var/lib/app/ckpt"});
//   if (!store) ...;                                 // store.error()
//   streamckpt::Consumer orders(ex, *store, orders_options);
//   streamckpt::Consumer payments(ex, *store, payments_options);
//
// Thread safety: open() and list() block on disk; call them where blocking
// is fine. The rest is thread-safe. The store closes when the last consumer
// and the last shared_ptr to it are gone.
#pragma once

#include <streamckpt/error.hpp>
#include <streamckpt/local_store.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rocksdb {
class ColumnFamilyHandle;
class Env;
}  // namespace rocksdb

namespace streamckpt {

struct StoreOptions {
  // The data directory; created 0700 when missing. Required.
  std::filesystem::path dir{};
  // Application column families, for the transactional acks of any consumer
  // of the store. Default: none.
  std::vector<std::string> column_families{};
  // Storage fault injection for tests: only the Env's FileSystem is used.
  // Default: RocksDB's.
  rocksdb::Env* env = nullptr;
};

class Store {
 public:
  // Opens (creating when needed) the store in options.dir. Errors as
  // LocalStore::open(): store_locked, store_foreign, store_io,
  // store_corruption. `detail`, when given, receives a sentence for the user
  // that names the directory and says what to do.
  [[nodiscard]] static Result<std::shared_ptr<Store>> open(const StoreOptions& options, std::string* detail = nullptr);
  // Writes what its consumers left queued, then closes.
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const std::filesystem::path& dir() const;
  // Names this store's instance across restarts: the lease owner of its
  // consumers.
  const std::string& instance_id() const;
  // A handle to an application column family, for building the effects of a
  // transactional ack (see Consumer::column_family()); nullptr when unknown.
  rocksdb::ColumnFamilyHandle* column_family(const std::string& name) const;
  // Reads one key of an application column family; errc::store_closed while
  // a failed store is being reopened.
  [[nodiscard]] Result<std::optional<std::string>> get(const std::string& family, std::string_view key) const;
  // Every consumer's checkpoint in the store, as committed. Blocking.
  std::vector<LocalStore::Listed> list(std::size_t* undecodable = nullptr) const;
  // Successful synced writes so far, of all its consumers together.
  std::uint64_t fsyncs() const;

  struct Impl;
  Impl& impl() const { return *impl_; }

 private:
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace streamckpt
