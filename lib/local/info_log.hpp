// The info LOG the local store gives RocksDB in place of its own.
//
// RocksDB's own logger writes through a WritableFileWriter, and after one
// failed write (a full or read-only disk) its next line trips an assertion
// that aborts the process in builds with assertions on (Debian's librocksdb
// is one). The store must outlive its disk's failures, so its LOG is written
// with plain write(2): a line that cannot be written is dropped, and the file
// is reopened with the database after the disk comes back.
#pragma once

#include <rocksdb/env.h>

#include <filesystem>
#include <memory>

namespace streamckpt::detail {

// Lines at `level` and above go to `dir`/LOG (created 0600), which is
// renamed to LOG.old once it passes `max_bytes`. Never fails: a LOG that
// cannot be opened or written drops its lines.
std::shared_ptr<rocksdb::Logger> make_info_log(const std::filesystem::path& dir, rocksdb::InfoLogLevel level,
                                               std::uint64_t max_bytes);

}  // namespace streamckpt::detail
