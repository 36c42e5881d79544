// Opening a consumer's store for the admin calls, with the sentence for each
// way it fails.
#pragma once

#include <streamckpt/error.hpp>
#include <streamckpt/local_store.hpp>

#include <filesystem>
#include <memory>

namespace streamckpt::admin::detail {

// A store was made in `dir` (RocksDB's CURRENT file is there).
bool store_exists(const std::filesystem::path& dir);

// An existing store, read-only and without its lock (beside a running
// consumer); errc::no_store when there is none.
[[nodiscard]] Outcome<std::unique_ptr<LocalStore>> open_for_reading(const std::filesystem::path& dir);

// The store for writing, created when missing; errc::store_locked while a
// consumer holds it.
[[nodiscard]] Outcome<std::unique_ptr<LocalStore>> open_for_writing(const std::filesystem::path& dir);

}  // namespace streamckpt::admin::detail
