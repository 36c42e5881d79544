#include "admin/stores.hpp"

#include <fmt/format.h>

namespace streamckpt::admin::detail {

bool store_exists(const std::filesystem::path& dir) { return std::filesystem::exists(dir / "CURRENT"); }

Outcome<std::unique_ptr<LocalStore>> open_for_reading(const std::filesystem::path& dir) {
  if (!store_exists(dir))
    return Problem{errc::no_store,
                   fmt::format("no checkpoint store in {} (nothing was consumed with this --data-dir)", dir.string())};
  LocalStoreOptions options;
  options.dir = dir;
  options.read_only = true;
  std::string detail;
  auto opened = LocalStore::open(options, &detail);
  if (!opened) return Problem{opened.error(), fmt::format("cannot open {}: {}", dir.string(), detail)};
  return std::move(*opened);
}

Outcome<std::unique_ptr<LocalStore>> open_for_writing(const std::filesystem::path& dir) {
  LocalStoreOptions options;
  options.dir = dir;
  std::string detail;
  auto opened = LocalStore::open(options, &detail);
  if (!opened)
    return Problem{
        opened.error(),
        opened.error() == errc::store_locked
            ? fmt::format("data directory {} is held by another process; stop the consumer first", dir.string())
            : fmt::format("cannot open {}: {}", dir.string(), detail)};
  return std::move(*opened);
}

}  // namespace streamckpt::admin::detail
