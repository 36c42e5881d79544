// The Env the local store opens RocksDB with: the caller's (or RocksDB's
// default) with one change to how write-ahead log files grow.
//
// RocksDB preallocates a WAL with fallocate(FALLOC_FL_KEEP_SIZE), so every
// append still grows the file's size, and every synced commit must then write
// the inode as well as the data. Preallocating without KEEP_SIZE (RocksDB's
// FileOptions::fallocate_with_keep_size = false, meant for workloads that
// sync every write) sets the size ahead of the writes, so most synced commits
// write only data: the sync takes about a quarter less time.
//
// A clean close trims the file to its written length. After a crash the WAL
// ends in zeros: RocksDB's log reader skips zero blocks without reporting
// corruption, so every synced record is replayed, and recovery then deletes
// the file. (RocksDB keeps KEEP_SIZE by default for the sake of
// GetUpdatesSince tailing a live WAL, which the store never does.)
#pragma once

#include <rocksdb/env.h>

#include <memory>

namespace streamckpt::detail {

// `base` may be null (RocksDB's default Env). The result wraps base's file
// system; it must outlive every DB opened with it.
std::unique_ptr<rocksdb::Env> make_wal_env(rocksdb::Env* base);

}  // namespace streamckpt::detail
