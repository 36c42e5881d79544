#include <streamckpt/local_store.hpp>

#include "local/info_log.hpp"
#include "local/wal_env.hpp"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>

namespace streamckpt {
namespace {

constexpr const char* k_checkpoints_cf = "checkpoints";
// Written into a new store's directory before RocksDB's first file: a
// directory that has it is ours, even when its creation was cut short.
constexpr const char* k_marker = "STREAMCKPT";
constexpr std::uint64_t k_max_log_bytes = 1 << 20;

boost::system::error_code map_status(const rocksdb::Status& s) {
  if (s.ok()) return {};
  if (s.IsCorruption()) return errc::store_corruption;
  // RocksDB reports the LOCK file held by another process (or by this one)
  // as an I/O error with one of these two messages. Match them exactly: a
  // path that merely contains "lock" is not a held lock.
  const auto message = s.ToString();
  if (s.IsIOError() && (message.find("While lock file:") != std::string::npos ||
                        message.find("lock hold by current process") != std::string::npos))
    return errc::store_locked;
  return errc::store_io;
}

void set_detail(std::string* detail, const rocksdb::Status& s) {
  if (detail) *detail = s.ToString();
}

rocksdb::ColumnFamilyOptions family_options(const LocalStoreOptions& o, const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions cf;
  cf.write_buffer_size = o.write_buffer_bytes;
  cf.max_write_buffer_number = 2;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return cf;
}

}  // namespace

// Name, ID and comparator of a column family: all a WriteBatch needs. Column
// family IDs are stored in the MANIFEST, so they survive a reopen.
class LocalStore::BatchHandle final : public rocksdb::ColumnFamilyHandle {
 public:
  BatchHandle(std::string name, std::uint32_t id, const rocksdb::Comparator* comparator)
      : name_(std::move(name)), id_(id), comparator_(comparator) {}
  const std::string& GetName() const override { return name_; }
  std::uint32_t GetID() const override { return id_; }
  rocksdb::Status GetDescriptor(rocksdb::ColumnFamilyDescriptor*) override {
    return rocksdb::Status::NotSupported("a streamckpt batch handle only builds WriteBatches");
  }
  const rocksdb::Comparator* GetComparator() const override { return comparator_; }

 private:
  std::string name_;
  std::uint32_t id_;
  const rocksdb::Comparator* comparator_;
};

void LocalStore::HandleDeleter::operator()(rocksdb::ColumnFamilyHandle* h) const {
  if (db && h) db->DestroyColumnFamilyHandle(h);
}

LocalStore::LocalStore(LocalStoreOptions options) : options_(std::move(options)) {}

LocalStore::~LocalStore() { close_db(); }

Result<std::unique_ptr<LocalStore>> LocalStore::open(const LocalStoreOptions& options, std::string* detail) {
  std::unique_ptr<LocalStore> store(new LocalStore(options));
  if (auto ec = store->open_db(detail)) return ec;
  return store;
}

boost::system::error_code LocalStore::open_db(std::string* detail) {
  if (!options_.read_only && !opened_once_) {
    // Decided once, before anything is written: a reopen after an I/O error
    // finds the store's own files.
    if (auto ec = prepare_directory(detail)) return ec;
  }
  auto ec = open_rocksdb(detail);
  if (ec && created_) {
    // The first open of a new store failed (a full disk, say): leave the
    // directory as it was, not a half-made store.
    remove_created();
  }
  if (!ec) {
    opened_once_ = true;
    created_ = created_dir_ = false;  // from now on, a failure never removes the store
  }
  return ec;
}

boost::system::error_code LocalStore::prepare_directory(std::string* detail) {
  const auto& dir = options_.dir;
  std::error_code fs_ec;
  const auto status = std::filesystem::status(dir, fs_ec);
  if (status.type() == std::filesystem::file_type::not_found) {
    if (dir.has_parent_path()) std::filesystem::create_directories(dir.parent_path(), fs_ec);
    // 0700 whatever the umask: the store holds the application's state.
    if (!fs_ec && ::mkdir(dir.c_str(), 0700) != 0) fs_ec.assign(errno, std::generic_category());
    if (fs_ec) {
      if (detail) *detail = fmt::format("cannot create {}: {}", dir.string(), fs_ec.message());
      return errc::store_io;
    }
    created_ = created_dir_ = true;
    return write_marker(detail);
  }
  if (fs_ec || status.type() != std::filesystem::file_type::directory) {
    if (detail)
      *detail = fs_ec ? fmt::format("cannot read {}: {}", dir.string(), fs_ec.message())
                      : fmt::format("{} is not a directory", dir.string());
    return fs_ec ? errc::store_io : errc::store_foreign;
  }

  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir, fs_ec)) {
    // The root of an ext4 file system has it: such a mount point is empty.
    if (entry.path().filename() == "lost+found") continue;
    names.push_back(entry.path().filename());
  }
  if (fs_ec) {
    if (detail) *detail = fmt::format("cannot read {}: {}", dir.string(), fs_ec.message());
    return errc::store_io;
  }
  const auto has = [&](const char* name) { return std::find(names.begin(), names.end(), name) != names.end(); };
  if (names.empty()) {
    created_ = true;
    return write_marker(detail);
  }
  if (has(k_marker)) return {};  // ours, perhaps a creation cut short
  if (has("CURRENT")) {
    // A store made before the marker existed has our column family.
    std::vector<std::string> families;
    if (rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir.string(), &families).ok() &&
        std::find(families.begin(), families.end(), k_checkpoints_cf) != families.end())
      return write_marker(detail);
  }
  std::sort(names.begin(), names.end());
  if (detail)
    *detail =
        fmt::format("{} is not empty and holds no streamckpt store (it has '{}'{}); use a new or empty directory",
                    dir.string(), names.front(), names.size() > 1 ? fmt::format(" and {} more", names.size() - 1) : "");
  return errc::store_foreign;
}

boost::system::error_code LocalStore::write_marker(std::string* detail) {
  const auto path = options_.dir / k_marker;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  static constexpr std::string_view k_text = "A streamckpt checkpoint store (RocksDB). Do not edit.\n";
  bool ok =
      fd >= 0 && ::write(fd, k_text.data(), k_text.size()) == static_cast<ssize_t>(k_text.size()) && ::fsync(fd) == 0;
  const int saved = errno;
  if (fd >= 0) ok = ::close(fd) == 0 && ok;
  if (ok) return {};
  if (detail) *detail = fmt::format("cannot write {}: {}", path.string(), std::strerror(saved));
  if (created_) remove_created();
  return errc::store_io;
}

void LocalStore::remove_created() {
  std::error_code ignored;
  if (created_dir_) {
    std::filesystem::remove_all(options_.dir, ignored);
  } else {
    // The directory was empty before: everything in it is ours.
    for (const auto& entry : std::filesystem::directory_iterator(options_.dir, ignored))
      if (entry.path().filename() != "lost+found") std::filesystem::remove_all(entry.path(), ignored);
  }
  created_ = created_dir_ = false;
}

boost::system::error_code LocalStore::open_rocksdb(std::string* detail) {
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_total_wal_size = options_.max_wal_bytes;
  // RocksDB's own info LOG aborts the process after a failed write on a
  // full or read-only disk (info_log.hpp).
  db_options.info_log = detail::make_info_log(options_.dir, rocksdb::InfoLogLevel::INFO_LEVEL, k_max_log_bytes);
  db_options.max_background_jobs = 1;
  db_options.max_open_files = 64;
  // WAL files are sized ahead of their writes (wal_env.hpp). RocksDB's other
  // way to that, recycling WAL files, is off: RocksDB 7.8 turns it off under
  // point-in-time recovery, the default recovery mode, which we keep.
  if (!env_) env_ = detail::make_wal_env(options_.env);
  db_options.env = env_.get();

  const auto cache = rocksdb::NewLRUCache(options_.block_cache_bytes);
  const auto cf_options = family_options(options_, cache);
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {{rocksdb::kDefaultColumnFamilyName, cf_options},
                                                           {k_checkpoints_cf, cf_options}};
  for (const auto& name : options_.column_families) families.emplace_back(name, cf_options);

  // Column families created by an earlier run of the application but not
  // named now must still be opened: RocksDB refuses to open otherwise.
  std::vector<std::string> existing;
  if (rocksdb::DB::ListColumnFamilies(db_options, options_.dir.string(), &existing).ok()) {
    for (const auto& name : existing) {
      const bool known = std::any_of(families.begin(), families.end(), [&](const auto& d) { return d.name == name; });
      if (!known) families.emplace_back(name, cf_options);
    }
    // Reading cannot create a family: a store whose creation was cut short
    // (killed between the DB and its families) has no checkpoints yet.
    if (options_.read_only)
      families.erase(std::remove_if(families.begin(), families.end(),
                                    [&](const auto& d) {
                                      return std::find(existing.begin(), existing.end(), d.name) == existing.end();
                                    }),
                     families.end());
  }

  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  const auto s = options_.read_only
                     ? rocksdb::DB::OpenForReadOnly(db_options, options_.dir.string(), families, &handles, &raw)
                     : rocksdb::DB::Open(db_options, options_.dir.string(), families, &handles, &raw);
  if (!s.ok()) {
    set_detail(detail, s);
    return map_status(s);
  }
  db_.reset(raw);
  std::vector<Handle> owned;
  owned.reserve(handles.size());
  for (auto* h : handles) owned.emplace_back(h, HandleDeleter{raw});
  for (std::size_t i = 0; i < families.size(); ++i) {
    if (families[i].name == k_checkpoints_cf)
      checkpoints_ = std::move(owned[i]);
    else if (families[i].name != rocksdb::kDefaultColumnFamilyName) {
      if (!batch_handles_.count(families[i].name))
        batch_handles_.emplace(families[i].name, std::make_unique<BatchHandle>(families[i].name, owned[i]->GetID(),
                                                                               owned[i]->GetComparator()));
      app_families_.emplace(families[i].name, std::move(owned[i]));
    }
  }
  // The default family's handle is owned by the DB itself.
  return load_instance_id(detail);
}

boost::system::error_code LocalStore::load_instance_id(std::string* detail) {
  static constexpr const char* k_key = "streamckpt.instance_id";
  auto s = db_->Get(rocksdb::ReadOptions(), db_->DefaultColumnFamily(), k_key, &instance_id_);
  if (s.ok() || options_.read_only) return {};
  if (!s.IsNotFound()) {
    set_detail(detail, s);
    return map_status(s);
  }
  std::random_device random;
  instance_id_ = fmt::format("{:08x}{:08x}", random(), random());
  rocksdb::WriteOptions wo;
  wo.sync = true;
  s = db_->Put(wo, db_->DefaultColumnFamily(), k_key, instance_id_);
  set_detail(detail, s);
  return map_status(s);
}

void LocalStore::close_db() {
  app_families_.clear();
  checkpoints_.reset();
  if (db_) {
    db_->Close().PermitUncheckedError();
    db_.reset();
  }
}

boost::system::error_code LocalStore::reopen(std::string* detail) {
  std::unique_lock lock(mutex_);
  close_db();
  return open_db(detail);
}

rocksdb::ColumnFamilyHandle* LocalStore::batch_handle(const std::string& name) const {
  const auto it = batch_handles_.find(name);  // never changes after open()
  return it == batch_handles_.end() ? nullptr : it->second.get();
}

namespace {

// Collects the column family IDs a batch writes to.
class FamilyIds final : public rocksdb::WriteBatch::Handler {
 public:
  std::vector<std::uint32_t> ids;
  rocksdb::Status PutCF(std::uint32_t id, const rocksdb::Slice&, const rocksdb::Slice&) override { return add(id); }
  rocksdb::Status DeleteCF(std::uint32_t id, const rocksdb::Slice&) override { return add(id); }
  rocksdb::Status SingleDeleteCF(std::uint32_t id, const rocksdb::Slice&) override { return add(id); }
  rocksdb::Status DeleteRangeCF(std::uint32_t id, const rocksdb::Slice&, const rocksdb::Slice&) override {
    return add(id);
  }
  // The store opens every family without a merge operator: RocksDB rejects
  // the whole write that carries a Merge, and every write after it until
  // the database is reopened, so one such effect would fail the commits of
  // every consumer of the store, for ever.
  rocksdb::Status MergeCF(std::uint32_t, const rocksdb::Slice&, const rocksdb::Slice&) override {
    return rocksdb::Status::NotSupported("Merge: the store's column families have no merge operator");
  }

 private:
  rocksdb::Status add(std::uint32_t id) {
    ids.push_back(id);
    return rocksdb::Status::OK();
  }
};

}  // namespace

boost::system::error_code LocalStore::check_effects(const rocksdb::WriteBatch& batch) const {
  FamilyIds found;
  if (!batch.Iterate(&found).ok()) return errc::effects_refused;  // a Merge, or an operation FamilyIds does not take
  for (const auto id : found.ids) {
    const bool known = std::any_of(batch_handles_.begin(), batch_handles_.end(),
                                   [id](const auto& h) { return h.second->GetID() == id; });
    if (!known) return errc::unknown_column_family;
  }
  return {};
}

Result<std::optional<std::string>> LocalStore::get(const std::string& family, std::string_view key) const {
  std::shared_lock lock(mutex_);
  if (!db_) return errc::store_closed;
  const auto it = app_families_.find(family);
  if (it == app_families_.end()) return errc::store_io;
  std::string value;
  const auto s = db_->Get(rocksdb::ReadOptions(), it->second.get(), rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return std::optional<std::string>{};
  if (!s.ok()) return map_status(s);
  return std::optional<std::string>{std::move(value)};
}

CheckpointCopy LocalStore::read(const CheckpointKey& key) const {
  std::shared_lock lock(mutex_);
  if (!db_) return CheckpointCopy::invalid("local store is closed");
  if (!checkpoints_) return CheckpointCopy::absent();  // read-only, before the family was made
  std::string value;
  const auto s = db_->Get(rocksdb::ReadOptions(), checkpoints_.get(), record::encode_key(key), &value);
  if (s.IsNotFound()) return CheckpointCopy::absent();
  if (!s.ok()) return CheckpointCopy::invalid("read failed: " + s.ToString());
  auto decoded = record::decode(value);
  if (!decoded) return CheckpointCopy::invalid(decoded.error().message());
  if (!(decoded->key == key)) return CheckpointCopy::invalid(make_error_code(errc::record_key_mismatch).message());
  return CheckpointCopy::of(std::move(*decoded));
}

std::vector<LocalStore::Listed> LocalStore::list(std::size_t* undecodable) const {
  std::vector<Listed> out;
  if (undecodable) *undecodable = 0;
  std::vector<CheckpointKey> keys;
  {
    std::shared_lock lock(mutex_);
    if (!db_ || !checkpoints_) return out;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), checkpoints_.get()));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      auto key = record::decode_key(std::string_view(it->key().data(), it->key().size()));
      if (key)
        keys.push_back(std::move(*key));
      else if (undecodable)
        ++*undecodable;
    }
  }
  for (auto& key : keys) {
    auto copy = read(key);
    out.push_back({std::move(key), std::move(copy)});
  }
  return out;
}

namespace {

// In the default family: the checkpoints family holds records only.
std::string unacked_key(const CheckpointKey& key) { return "streamckpt.unacked." + record::encode_key(key); }

}  // namespace

Result<std::vector<StreamId>> LocalStore::read_unacked(const CheckpointKey& key) const {
  std::shared_lock lock(mutex_);
  if (!db_) return errc::store_closed;
  std::string value;
  const auto s = db_->Get(rocksdb::ReadOptions(), db_->DefaultColumnFamily(), unacked_key(key), &value);
  if (s.IsNotFound()) return std::vector<StreamId>{};
  if (!s.ok()) return map_status(s);
  return record::decode_ids(value);
}

boost::system::error_code LocalStore::commit(const std::vector<Checkpoint>& checkpoints,
                                             const rocksdb::WriteBatch* extra, std::string* detail,
                                             const std::vector<Unacked>& unacked) {
  std::shared_lock lock(mutex_);
  if (!db_) return errc::store_closed;
  if (options_.read_only) return errc::store_io;
  rocksdb::WriteBatch batch;
  for (const auto& c : checkpoints) {
    if (c.metadata.size() > Checkpoint::k_max_metadata_bytes) return errc::metadata_too_large;
    if (auto ec = c.key.validate()) return ec;
    batch.Put(checkpoints_.get(), record::encode_key(c.key), record::encode(c)).PermitUncheckedError();
  }
  for (const auto& u : unacked) {
    const auto k = unacked_key(u.key);
    (u.ids.empty() ? batch.Delete(db_->DefaultColumnFamily(), k)
                   : batch.Put(db_->DefaultColumnFamily(), k, record::encode_ids(u.ids)))
        .PermitUncheckedError();
  }
  if (extra) {
    if (auto ec = append_unlocked(batch, *extra)) return ec;
  }
  rocksdb::WriteOptions wo;
  wo.sync = true;  // durable when this returns: never weaken, never disable the WAL
  const auto s = db_->Write(wo, &batch);
  set_detail(detail, s);
  return map_status(s);
}

boost::system::error_code LocalStore::remove(const CheckpointKey& key) {
  std::shared_lock lock(mutex_);
  if (!db_) return errc::store_closed;
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return map_status(db_->Delete(wo, checkpoints_.get(), record::encode_key(key)));
}

rocksdb::ColumnFamilyHandle* LocalStore::column_family(const std::string& name) const {
  std::shared_lock lock(mutex_);
  const auto it = app_families_.find(name);
  return it == app_families_.end() ? nullptr : it->second.get();
}

namespace {

// Replays a batch into another one, mapping column family IDs to handles.
class Appender final : public rocksdb::WriteBatch::Handler {
 public:
  Appender(rocksdb::WriteBatch& dst, std::map<std::uint32_t, rocksdb::ColumnFamilyHandle*> families)
      : dst_(dst), families_(std::move(families)) {}

  rocksdb::Status PutCF(std::uint32_t id, const rocksdb::Slice& k, const rocksdb::Slice& v) override {
    auto* cf = find(id);
    return cf ? dst_.Put(cf, k, v) : unknown(id);
  }
  rocksdb::Status DeleteCF(std::uint32_t id, const rocksdb::Slice& k) override {
    auto* cf = find(id);
    return cf ? dst_.Delete(cf, k) : unknown(id);
  }
  rocksdb::Status SingleDeleteCF(std::uint32_t id, const rocksdb::Slice& k) override {
    auto* cf = find(id);
    return cf ? dst_.SingleDelete(cf, k) : unknown(id);
  }
  rocksdb::Status DeleteRangeCF(std::uint32_t id, const rocksdb::Slice& b, const rocksdb::Slice& e) override {
    auto* cf = find(id);
    return cf ? dst_.DeleteRange(cf, b, e) : unknown(id);
  }
  rocksdb::Status MergeCF(std::uint32_t id, const rocksdb::Slice& k, const rocksdb::Slice& v) override {
    auto* cf = find(id);
    return cf ? dst_.Merge(cf, k, v) : unknown(id);
  }
  void LogData(const rocksdb::Slice& blob) override { dst_.PutLogData(blob).PermitUncheckedError(); }

 private:
  rocksdb::ColumnFamilyHandle* find(std::uint32_t id) const {
    const auto it = families_.find(id);
    return it == families_.end() ? nullptr : it->second;
  }
  static rocksdb::Status unknown(std::uint32_t id) {
    return rocksdb::Status::InvalidArgument(fmt::format("unknown column family id {}", id));
  }

  rocksdb::WriteBatch& dst_;
  std::map<std::uint32_t, rocksdb::ColumnFamilyHandle*> families_;
};

}  // namespace

boost::system::error_code LocalStore::append(rocksdb::WriteBatch& dst, const rocksdb::WriteBatch& src) const {
  std::shared_lock lock(mutex_);
  return append_unlocked(dst, src);
}

boost::system::error_code LocalStore::append_unlocked(rocksdb::WriteBatch& dst, const rocksdb::WriteBatch& src) const {
  if (!db_) return errc::store_closed;
  if (!checkpoints_) return errc::store_io;  // read-only, before the family was made
  std::map<std::uint32_t, rocksdb::ColumnFamilyHandle*> families;
  families[db_->DefaultColumnFamily()->GetID()] = db_->DefaultColumnFamily();
  families[checkpoints_->GetID()] = checkpoints_.get();
  for (const auto& [name, h] : app_families_) families[h->GetID()] = h.get();
  Appender appender(dst, std::move(families));
  return src.Iterate(&appender).ok() ? boost::system::error_code{} : make_error_code(errc::store_io);
}

}  // namespace streamckpt
