#include <streamckpt/local_store.hpp>

#include "local/wal_env.hpp"

#include <rocksdb/cache.h>
#include <rocksdb/table.h>

#include <fmt/format.h>

#include <random>

namespace streamckpt {
namespace {

constexpr const char* k_checkpoints_cf = "checkpoints";

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
  std::error_code fs_ec;
  if (!options_.read_only) std::filesystem::create_directories(options_.dir, fs_ec);
  if (fs_ec) {
    if (detail) *detail = fmt::format("cannot create {}: {}", options_.dir.string(), fs_ec.message());
    return errc::store_io;
  }

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_total_wal_size = options_.max_wal_bytes;
  db_options.keep_log_file_num = 2;
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
  rocksdb::Status MergeCF(std::uint32_t id, const rocksdb::Slice&, const rocksdb::Slice&) override { return add(id); }

 private:
  rocksdb::Status add(std::uint32_t id) {
    ids.push_back(id);
    return rocksdb::Status::OK();
  }
};

}  // namespace

bool LocalStore::accepts(const rocksdb::WriteBatch& batch) const {
  FamilyIds found;
  if (!batch.Iterate(&found).ok()) return false;
  for (const auto id : found.ids) {
    const bool known = std::any_of(batch_handles_.begin(), batch_handles_.end(),
                                   [id](const auto& h) { return h.second->GetID() == id; });
    if (!known) return false;
  }
  return true;
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

boost::system::error_code LocalStore::commit(const std::vector<Checkpoint>& checkpoints,
                                             const rocksdb::WriteBatch* extra, std::string* detail) {
  std::shared_lock lock(mutex_);
  if (!db_) return errc::store_closed;
  if (options_.read_only) return errc::store_io;
  rocksdb::WriteBatch batch;
  for (const auto& c : checkpoints) {
    if (c.metadata.size() > Checkpoint::k_max_metadata_bytes) return errc::metadata_too_large;
    if (auto ec = c.key.validate()) return ec;
    batch.Put(checkpoints_.get(), record::encode_key(c.key), record::encode(c)).PermitUncheckedError();
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
