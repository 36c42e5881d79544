#include "local/store_impl.hpp"

#include <fmt/format.h>

namespace streamckpt {

namespace {

// The sentence for a store that cannot be opened: what failed and what to do.
std::string open_failure(const std::filesystem::path& dir, boost::system::error_code ec, const std::string& detail) {
  if (ec == errc::store_locked)
    return fmt::format("data directory {} is held by another process; stop it or use another data directory",
                       dir.string());
  if (ec == errc::store_corruption)
    // Not repaired automatically: the store may also hold the application's
    // column families, and only its owner can judge what a repair lost.
    return fmt::format(
        "cannot open data directory {}: {}. Move the directory away to resume from the Redis copy, as after a lost "
        "disk (the application's column families in it are then lost too), or repair it with 'ldb repair --db={}'",
        dir.string(), detail, dir.string());
  if (ec == errc::store_foreign) return "data directory " + detail;
  return fmt::format("cannot open data directory {}: {}", dir.string(), detail);
}

auto as_tuple(const CheckpointKey& key) { return std::make_tuple(key.stream, key.group, key.consumer); }

}  // namespace

Store::Impl::Impl(std::unique_ptr<LocalStore> l)
    : local(std::move(l)), committer(std::make_unique<detail::Committer>(*local)) {}

Store::Impl::~Impl() {
  committer->finish();  // what is queued is written before the database closes
  committer.reset();
  local.reset();
}

bool Store::Impl::claim(const CheckpointKey& key) {
  std::lock_guard lock(mutex_);
  return running_.insert(as_tuple(key)).second;
}

void Store::Impl::release(const CheckpointKey& key) {
  std::lock_guard lock(mutex_);
  running_.erase(as_tuple(key));
}

Result<std::shared_ptr<Store>> Store::open(const StoreOptions& options, std::string* detail) {
  LocalStoreOptions local_options;
  local_options.dir = options.dir;
  local_options.column_families = options.column_families;
  local_options.env = options.env;
  std::string why;
  auto opened = LocalStore::open(local_options, &why);
  if (!opened) {
    if (detail) *detail = open_failure(options.dir, opened.error(), why);
    return opened.error();
  }
  return std::shared_ptr<Store>(new Store(std::make_unique<Impl>(std::move(*opened))));
}

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Store::~Store() = default;

const std::filesystem::path& Store::dir() const { return impl_->local->dir(); }

const std::string& Store::instance_id() const { return impl_->local->instance_id(); }

rocksdb::ColumnFamilyHandle* Store::column_family(const std::string& name) const {
  return impl_->local->batch_handle(name);
}

Result<std::optional<std::string>> Store::get(const std::string& family, std::string_view key) const {
  return impl_->local->get(family, key);
}

std::vector<LocalStore::Listed> Store::list(std::size_t* undecodable) const { return impl_->local->list(undecodable); }

std::uint64_t Store::fsyncs() const { return impl_->committer->writes(); }

}  // namespace streamckpt
