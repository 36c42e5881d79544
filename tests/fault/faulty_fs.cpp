#include "faulty_fs.hpp"

#include <algorithm>
#include <filesystem>
#include <system_error>

namespace streamckpt::test {

using rocksdb::IODebugContext;
using rocksdb::IOOptions;
using rocksdb::IOStatus;
using rocksdb::Slice;

struct FaultyFs::FileState {
  std::string path;
  FileKind kind = other;
  std::uint64_t size = 0;
  std::uint64_t synced = 0;
};

// A writable file whose writes go through FaultyFs's switches.
class FaultyFs::File final : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  File(std::unique_ptr<rocksdb::FSWritableFile> target, FaultyFs& fs, std::shared_ptr<FileState> state,
       std::mutex& mutex)
      : FSWritableFileOwnerWrapper(std::move(target)), fs_(fs), state_(std::move(state)), mutex_(mutex) {}

  IOStatus Append(const Slice& data, const IOOptions& options, IODebugContext* dbg) override {
    if (auto s = append_fault(); !s.ok()) return s;
    auto s = target()->Append(data, options, dbg);
    if (s.ok()) appended(data.size());
    return s;
  }
  IOStatus Append(const Slice& data, const IOOptions& options, const rocksdb::DataVerificationInfo& info,
                  IODebugContext* dbg) override {
    if (auto s = append_fault(); !s.ok()) return s;
    auto s = target()->Append(data, options, info, dbg);
    if (s.ok()) appended(data.size());
    return s;
  }
  IOStatus PositionedAppend(const Slice& data, uint64_t offset, const IOOptions& options,
                            IODebugContext* dbg) override {
    if (auto s = append_fault(); !s.ok()) return s;
    auto s = target()->PositionedAppend(data, offset, options, dbg);
    if (s.ok()) positioned(offset + data.size());
    return s;
  }
  IOStatus PositionedAppend(const Slice& data, uint64_t offset, const IOOptions& options,
                            const rocksdb::DataVerificationInfo& info, IODebugContext* dbg) override {
    if (auto s = append_fault(); !s.ok()) return s;
    auto s = target()->PositionedAppend(data, offset, options, info, dbg);
    if (s.ok()) positioned(offset + data.size());
    return s;
  }
  IOStatus Truncate(uint64_t size, const IOOptions& options, IODebugContext* dbg) override {
    auto s = target()->Truncate(size, options, dbg);
    if (s.ok()) {
      std::lock_guard lock(mutex_);
      state_->size = size;
      state_->synced = std::min(state_->synced, size);
    }
    return s;
  }
  IOStatus Flush(const IOOptions& options, IODebugContext* dbg) override {
    if (auto s = fs_.check(static_cast<Error>(fs_.flush_error_.load()), fs_.flush_kinds_.load(), fs_.flush_budget_,
                           *state_, fs_.failed_flushes_, "flush");
        !s.ok())
      return s;
    return target()->Flush(options, dbg);
  }
  IOStatus Sync(const IOOptions& options, IODebugContext* dbg) override { return synced_call(options, dbg, false); }
  IOStatus Fsync(const IOOptions& options, IODebugContext* dbg) override { return synced_call(options, dbg, true); }
  IOStatus RangeSync(uint64_t offset, uint64_t nbytes, const IOOptions& options, IODebugContext* dbg) override {
    // sync_file_range() starts write-back but promises no durability: it
    // fails with the sync fault and never counts as synced.
    if (auto s = sync_fault(); !s.ok()) return s;
    return target()->RangeSync(offset, nbytes, options, dbg);
  }

 private:
  IOStatus append_fault() {
    return fs_.check(static_cast<Error>(fs_.append_error_.load()), fs_.append_kinds_.load(), fs_.append_budget_,
                     *state_, fs_.failed_appends_, "append");
  }
  IOStatus sync_fault() {
    return fs_.check(static_cast<Error>(fs_.sync_error_.load()), fs_.sync_kinds_.load(), fs_.sync_budget_, *state_,
                     fs_.failed_syncs_, "sync");
  }
  IOStatus synced_call(const IOOptions& options, IODebugContext* dbg, bool full) {
    fs_.wait_while_held(state_->kind);
    if (auto s = sync_fault(); !s.ok()) return s;
    std::uint64_t covered = 0;
    {
      std::lock_guard lock(mutex_);
      covered = state_->size;  // what was appended before the sync began
    }
    auto s = full ? target()->Fsync(options, dbg) : target()->Sync(options, dbg);
    if (s.ok()) {
      ++fs_.syncs_;
      if (state_->kind == wal) ++fs_.wal_syncs_;
      std::lock_guard lock(mutex_);
      state_->synced = std::max(state_->synced, covered);
    }
    return s;
  }
  void appended(std::uint64_t n) {
    if (state_->kind == wal) fs_.wal_appended_bytes_ += n;
    std::lock_guard lock(mutex_);
    state_->size += n;
  }
  void positioned(std::uint64_t end) {
    std::lock_guard lock(mutex_);
    state_->size = std::max(state_->size, end);
  }

  FaultyFs& fs_;
  std::shared_ptr<FileState> state_;  // kind is immutable; the rest under mutex_
  std::mutex& mutex_;
};

FaultyFs::FaultyFs(const std::shared_ptr<rocksdb::FileSystem>& base) : FileSystemWrapper(base) {}

FaultyFs::~FaultyFs() = default;

FaultyFs::FileKind FaultyFs::kind_of(const std::string& path) {
  const auto name = std::filesystem::path(path).filename().string();
  auto ends_with = [&](const char* suffix) {
    const std::string s(suffix);
    return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
  };
  if (ends_with(".log") && name != "LOG" && name.rfind("LOG", 0) != 0) return wal;
  if (name.rfind("MANIFEST-", 0) == 0) return manifest;
  if (ends_with(".sst")) return table;
  return other;
}

void FaultyFs::fail_appends(Error e, unsigned kinds, long count) {
  append_kinds_ = kinds;
  append_budget_ = count < 0 ? -1 : count;
  append_error_ = static_cast<int>(e);
}

void FaultyFs::fail_syncs(Error e, unsigned kinds, long count) {
  sync_kinds_ = kinds;
  sync_budget_ = count < 0 ? -1 : count;
  sync_error_ = static_cast<int>(e);
}

void FaultyFs::fail_flushes(Error e, unsigned kinds, long count) {
  flush_kinds_ = kinds;
  flush_budget_ = count < 0 ? -1 : count;
  flush_error_ = static_cast<int>(e);
}

void FaultyFs::heal() {
  append_error_ = 0;
  sync_error_ = 0;
  flush_error_ = 0;
}

void FaultyFs::hold_syncs(unsigned kinds) {
  std::lock_guard lock(hold_mutex_);
  hold_kinds_ = kinds;
}

void FaultyFs::release_syncs() {
  {
    std::lock_guard lock(hold_mutex_);
    hold_kinds_ = 0;
  }
  released_.notify_all();
}

std::uint64_t FaultyFs::held_syncs() const {
  std::lock_guard lock(hold_mutex_);
  return held_;
}

void FaultyFs::wait_while_held(FileKind kind) {
  std::unique_lock lock(hold_mutex_);
  if ((hold_kinds_ & kind) == 0) return;
  ++held_;
  released_.wait(lock, [&] { return (hold_kinds_ & kind) == 0; });
  --held_;
}

IOStatus FaultyFs::check(Error e, unsigned kinds, std::atomic<long>& budget, const FileState& file,
                         std::atomic<std::uint64_t>& failures, const char* op) const {
  if (e == Error::none || (kinds & file.kind) == 0) return IOStatus::OK();
  long left = budget.load();
  while (left > 0 && !budget.compare_exchange_weak(left, left - 1)) {
  }
  if (left == 0) return IOStatus::OK();  // the counted faults are used up
  ++failures;
  std::string what = std::string("injected fault: ") + op + " ";
  {
    std::lock_guard lock(mutex_);  // a rename may change the path
    what += file.path;
  }
  if (e == Error::no_space) return IOStatus::NoSpace(what, "No space left on device");
  return IOStatus::IOError(what, "Input/output error");
}

std::shared_ptr<FaultyFs::FileState> FaultyFs::track(const std::string& fname, std::uint64_t size,
                                                     std::uint64_t synced) {
  auto state = std::make_shared<FileState>();
  state->path = fname;
  state->kind = kind_of(fname);
  state->size = size;
  state->synced = synced;
  std::lock_guard lock(mutex_);
  files_[fname] = state;
  return state;
}

void FaultyFs::wrap(const std::shared_ptr<FileState>& state, std::unique_ptr<rocksdb::FSWritableFile>* result) {
  *result = std::make_unique<File>(std::move(*result), *this, state, mutex_);
}

IOStatus FaultyFs::NewWritableFile(const std::string& fname, const rocksdb::FileOptions& opts,
                                   std::unique_ptr<rocksdb::FSWritableFile>* result, IODebugContext* dbg) {
  auto s = target()->NewWritableFile(fname, opts, result, dbg);
  if (s.ok()) wrap(track(fname, 0, 0), result);
  return s;
}

IOStatus FaultyFs::ReopenWritableFile(const std::string& fname, const rocksdb::FileOptions& opts,
                                      std::unique_ptr<rocksdb::FSWritableFile>* result, IODebugContext* dbg) {
  auto s = target()->ReopenWritableFile(fname, opts, result, dbg);
  if (!s.ok()) return s;
  const auto size = (*result)->GetFileSize(IOOptions(), dbg);
  std::uint64_t synced = size;  // what exists from before this FS saw it is durable
  {
    std::lock_guard lock(mutex_);
    if (auto it = files_.find(fname); it != files_.end()) synced = std::min(it->second->synced, size);
  }
  wrap(track(fname, size, synced), result);
  return s;
}

IOStatus FaultyFs::ReuseWritableFile(const std::string& fname, const std::string& old_fname,
                                     const rocksdb::FileOptions& opts, std::unique_ptr<rocksdb::FSWritableFile>* result,
                                     IODebugContext* dbg) {
  auto s = target()->ReuseWritableFile(fname, old_fname, opts, result, dbg);
  if (!s.ok()) return s;
  {
    std::lock_guard lock(mutex_);
    files_.erase(old_fname);
  }
  wrap(track(fname, 0, 0), result);
  return s;
}

IOStatus FaultyFs::DeleteFile(const std::string& fname, const IOOptions& opts, IODebugContext* dbg) {
  auto s = target()->DeleteFile(fname, opts, dbg);
  if (s.ok()) {
    std::lock_guard lock(mutex_);
    files_.erase(fname);
  }
  return s;
}

IOStatus FaultyFs::RenameFile(const std::string& src, const std::string& dst, const IOOptions& opts,
                              IODebugContext* dbg) {
  auto s = target()->RenameFile(src, dst, opts, dbg);
  if (s.ok()) {
    std::lock_guard lock(mutex_);
    files_.erase(dst);
    if (auto it = files_.find(src); it != files_.end()) {
      auto state = it->second;
      files_.erase(it);
      state->path = dst;
      files_[dst] = std::move(state);
    }
  }
  return s;
}

IOStatus FaultyFs::Truncate(const std::string& fname, size_t size, const IOOptions& opts, IODebugContext* dbg) {
  auto s = target()->Truncate(fname, size, opts, dbg);
  if (s.ok()) {
    std::lock_guard lock(mutex_);
    if (auto it = files_.find(fname); it != files_.end()) {
      it->second->size = size;
      it->second->synced = std::min<std::uint64_t>(it->second->synced, size);
    }
  }
  return s;
}

std::vector<FaultyFs::Tracked> FaultyFs::tracked() const {
  std::lock_guard lock(mutex_);
  std::vector<Tracked> out;
  for (const auto& [path, state] : files_) out.push_back({state->path, state->size, state->synced});
  return out;
}

std::uint64_t FaultyFs::drop_unsynced_data() {
  std::lock_guard lock(mutex_);
  std::uint64_t dropped = 0;
  for (auto& [path, state] : files_) {
    std::error_code ec;
    const auto actual = std::filesystem::file_size(path, ec);
    if (ec) continue;  // deleted behind our back
    if (actual > state->synced) {
      std::filesystem::resize_file(path, state->synced);
      dropped += actual - state->synced;
    }
    state->size = state->synced;
  }
  return dropped;
}

}  // namespace streamckpt::test
