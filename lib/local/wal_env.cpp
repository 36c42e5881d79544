#include "local/wal_env.hpp"

#include <rocksdb/file_system.h>

namespace streamckpt::detail {
namespace {

class WalLayoutFileSystem final : public rocksdb::FileSystemWrapper {
 public:
  explicit WalLayoutFileSystem(const std::shared_ptr<rocksdb::FileSystem>& target) : FileSystemWrapper(target) {}

  const char* Name() const override { return "StreamckptWalLayout"; }

  rocksdb::FileOptions OptimizeForLogWrite(const rocksdb::FileOptions& file_options,
                                           const rocksdb::DBOptions& db_options) const override {
    auto options = target()->OptimizeForLogWrite(file_options, db_options);
    options.fallocate_with_keep_size = false;
    return options;
  }
};

}  // namespace

std::unique_ptr<rocksdb::Env> make_wal_env(rocksdb::Env* base) {
  const auto fs = base ? base->GetFileSystem() : rocksdb::FileSystem::Default();
  return rocksdb::NewCompositeEnv(std::make_shared<WalLayoutFileSystem>(fs));
}

}  // namespace streamckpt::detail
