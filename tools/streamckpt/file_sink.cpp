#include "file_sink.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>

namespace streamckpt::cli {
namespace {

// A new sink file's mode: the lines are the stream's payloads.
constexpr mode_t k_file_mode = 0600;

// The extended attribute that marks a sink file as its owner's:
// "<identity hash>:<data directory hash>".
constexpr const char* k_owner_attribute = "user.streamckpt.sink-owner";

// FNV-1a, 64 bits, as 16 hex digits: short enough for any file system's
// attribute limits, whatever the names' lengths.
std::string text_hash(const std::string& text) {
  std::uint64_t h = 14695981039346656037ULL;
  for (const unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return fmt::format("{:016x}", h);
}

// The file length a checkpoint's metadata records; nullopt for anything
// else.
std::optional<std::uint64_t> recorded_length(const std::string& metadata) {
  std::uint64_t length = 0;
  const auto* end = metadata.data() + metadata.size();
  const auto [stop, ec] = std::from_chars(metadata.data(), end, length);
  if (metadata.empty() || ec != std::errc{} || stop != end) return std::nullopt;
  return length;
}

struct Mark {
  std::string identity, data_dir;  // hashes
  static Mark of(const SinkOwner& owner) { return {text_hash(owner.identity), text_hash(owner.data_dir)}; }
  std::string text() const { return identity + ":" + data_dir; }
};

// Exactly once across crashes: the file's length after each event is stored
// in the checkpoint's metadata, in the same synced commit; on start the file
// is cut back to the recorded length, so lines written after the last commit
// (whose events will be delivered again) disappear.
//
// Cutting a file that is not this consumer's output would destroy it, so the
// sink marks its file (k_owner_attribute) before it writes a line, and
// refuses a file that carries another identity's mark; a non-empty file
// marked from another data directory (a mistyped --data-dir); and, with no
// checkpoint at all, a non-empty file without a mark. With no checkpoint, its
// own non-empty file holds the lines of a first run that crashed before its
// first commit, and is cut to empty.
class FileSink final : public Sink {
 public:
  explicit FileSink(std::string path) : path_(std::move(path)) {}
  ~FileSink() override {
    if (fd_ < 0) return;
    // A start that failed after prepare() (a lease held elsewhere, Redis
    // unreachable, a refusal) leaves no empty file of ours behind; through a
    // symlink, the link stays.
    struct stat st {};
    if (created_ && !started_ && ::fstat(fd_, &st) == 0 && st.st_size == 0) ::unlink(opened_.c_str());
    ::close(fd_);
  }

  // Opened and locked before start-up touches either copy, and held (with
  // its lock) across in-process restarts: two consumers that both found the
  // file unmarked would interleave their lines.
  std::string prepare() override {
    if (fd_ >= 0) return {};
    // Only a regular file can be cut back on start. Looked at before open(),
    // which would wait for a FIFO's reader forever; through a symlink, at its
    // target.
    struct stat st {};
    if (::stat(path_.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) return not_regular(st.st_mode);
    // O_NONBLOCK: a FIFO put there since the stat() fails (no reader) or
    // opens at once, and fstat() below refuses it.
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NONBLOCK, k_file_mode);
    created_ = fd_ >= 0;
    // O_EXCL refuses a symlink, also one whose target is missing: that target
    // is then created, as any writer would.
    if (!created_ && errno == EEXIST) {
      std::error_code ec;
      const bool target_missing = std::filesystem::is_symlink(path_, ec) && !std::filesystem::exists(path_, ec);
      fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NONBLOCK, k_file_mode);
      created_ = fd_ >= 0 && target_missing;
    }
    if (fd_ < 0) return fmt::format("cannot open sink file {}: {}", path_, std::strerror(errno));
    std::string error;
    if (::fstat(fd_, &st) != 0)
      error = fmt::format("cannot stat {}: {}", path_, std::strerror(errno));
    else if (!S_ISREG(st.st_mode))
      error = not_regular(st.st_mode);
    if (!error.empty()) {
      ::close(fd_);
      fd_ = -1;
      return error;
    }
    ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) & ~O_NONBLOCK);  // a regular file: plain writes from here on
    // The lines are the stream's payloads: the file is its owner's alone,
    // whatever the umask (which open() applies to k_file_mode). A file that
    // exists keeps the mode it has.
    if (created_ && ::fchmod(fd_, k_file_mode) != 0)
      return fmt::format("cannot set the mode of sink file {}: {}", path_, std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      const int error = errno;
      ::close(fd_);
      fd_ = -1;
      return error == EWOULDBLOCK
                 ? fmt::format(
                       "sink file {} is in use: another streamckpt consume (or another process) holds its "
                       "lock; give each consumer its own file",
                       path_)
                 : fmt::format("cannot lock sink file {}: {}", path_, std::strerror(error));
    }
    // The file opened: through a symlink, its target (not what the link
    // names by now).
    opened_ = path_;
    std::error_code ec;
    if (std::filesystem::is_symlink(path_, ec)) {
      opened_ = std::filesystem::read_symlink(fmt::format("/proc/self/fd/{}", fd_), ec);
      if (ec) return fmt::format("cannot resolve sink file {}: {}", path_, ec.message());
    }
    // A new file's name must survive a power loss as its lines will.
    if (created_) return sync_parent_directory(opened_);
    return {};
  }

  std::string check(const SinkStart& start) override {
    std::uint64_t size = 0, recorded = 0;
    std::optional<std::string> found;
    return inspect(start, size, recorded, found);
  }

  std::string open(const SinkStart& start) override {
    std::uint64_t size = 0, recorded = 0;
    std::optional<std::string> found;
    if (auto error = inspect(start, size, recorded, found); !error.empty()) return error;
    buffer_.clear();
    const auto ours = Mark::of(start.owner);
    // Marked before anything is cut or written, durably. Where the mark cannot
    // be set (a file system without user attributes), the file stays unmarked:
    // a first run that crashed before its first commit then leaves a file the
    // next start refuses, which only costs moving it away.
    const auto mark = ours.text();
    if (found != mark && ::fsetxattr(fd_, k_owner_attribute, mark.data(), mark.size(), 0) == 0 && ::fsync(fd_) != 0)
      return fmt::format("fsync of {} failed: {}", path_, std::strerror(errno));
    if (size > recorded) {
      if (::ftruncate(fd_, static_cast<off_t>(recorded)) != 0)
        return fmt::format("cannot truncate {}: {}", path_, std::strerror(errno));
      if (start.log)
        start.log(start.metadata ? fmt::format("sink file {} cut from {} to {} bytes, the length its checkpoint "
                                               "records",
                                               path_, size, recorded)
                                 : fmt::format("sink file {} cut from {} to 0 bytes: it is this consumer's, and no "
                                               "checkpoint records any of it",
                                               path_, size));
    }
    if (::lseek(fd_, static_cast<off_t>(recorded), SEEK_SET) < 0)
      return fmt::format("cannot seek in {}: {}", path_, std::strerror(errno));
    length_ = recorded;
    started_ = true;
    return {};
  }

  // The metadata is the file's length once this line is flushed: a
  // checkpoint covering this event covers exactly the bytes up to here.
  std::string write(const Event& event, std::optional<std::string>& metadata) override {
    buffer_ += event_json_line(event);
    metadata = std::to_string(length_ + buffer_.size());
    return {};
  }

  std::string flush() override {
    can_retry_ = false;
    auto error = write_all(fd_, buffer_, path_);
    // The lines must reach the disk before a checkpoint that covers them.
    if (error.empty() && ::fdatasync(fd_) != 0)
      error = fmt::format("fdatasync of {} failed: {}", path_, std::strerror(errno));
    if (!error.empty()) {
      const int failure = errno;
      // Nothing of the buffer counts as written: the file goes back to what
      // earlier flushes made durable, and a retry writes the lines again
      // whole (after a failed fdatasync the kernel may have dropped them, and
      // a second one would not say so). A cut a read-only disk refuses is
      // overwritten by the same lines.
      (void)::ftruncate(fd_, static_cast<off_t>(length_));
      can_retry_ = ::lseek(fd_, static_cast<off_t>(length_), SEEK_SET) >= 0 &&
                   (failure == ENOSPC || failure == EDQUOT || failure == EIO || failure == EROFS);
      return error;
    }
    length_ += buffer_.size();
    buffer_.clear();
    return {};
  }

  bool can_retry() const override { return can_retry_; }

 private:
  // Opens the file (prepare()) and finds what open() works with: its size,
  // the length the checkpoint records, its mark. Changes nothing. Returns
  // why the file cannot be resumed with `start`, or "".
  std::string inspect(const SinkStart& start, std::uint64_t& size, std::uint64_t& recorded,
                      std::optional<std::string>& found) {
    if (auto error = prepare(); !error.empty()) return error;
    struct stat st {};
    if (::fstat(fd_, &st) != 0) return fmt::format("cannot stat {}: {}", path_, std::strerror(errno));
    size = static_cast<std::uint64_t>(st.st_size);
    found = read_mark();
    if (auto refusal = refuse_foreign(start, size, Mark::of(start.owner), found); !refusal.empty()) return refusal;
    recorded = 0;
    if (start.metadata && !start.metadata->empty()) {
      const auto length = recorded_length(*start.metadata);
      if (!length)
        return fmt::format(
            "the checkpoint's metadata '{}' is not a file length; was this data directory used with another sink?",
            *start.metadata);
      recorded = *length;
    }
    if (size < recorded && created_ && !started_)
      return fmt::format(
          "sink file {} does not exist, but its checkpoint records {} bytes of it: it was deleted or moved; restore it "
          "or reset the checkpoint",
          path_, recorded);
    if (size < recorded)
      return fmt::format(
          "sink file {} has {} bytes but its checkpoint records {}: it was truncated or replaced; restore it or reset "
          "the checkpoint",
          path_, size, recorded);
    return {};
  }

  // A message when the file is not this consumer's output, or nothing says
  // how much of it was handled; "" otherwise. An empty file (a new one
  // included) holds nothing to cut, so only its mark can refuse it.
  std::string refuse_foreign(const SinkStart& start, std::uint64_t size, const Mark& ours,
                             const std::optional<std::string>& found) const {
    if (found && found->rfind(ours.identity + ":", 0) != 0)
      return fmt::format(
          "sink file {} carries another consumer's mark ({} {}): another stream, group or consumer writes it; "
          "choose another file",
          path_, k_owner_attribute, *found);
    // Even when this directory holds a checkpoint: start-up re-seeds an empty
    // (mistyped) directory from the Redis copy, which may lag behind.
    if (found && *found != ours.text() && size > 0)
      return fmt::format(
          "sink file {} was written by this consumer with another data directory than {} (a mistyped --data-dir, "
          "or a directory that was moved or lost); use that data directory, or, for this one to go on with the "
          "file, remove the mark with 'setfattr -x {} {}'",
          path_, start.owner.data_dir, k_owner_attribute, path_);
    if (start.unknown && size > 0)
      return fmt::format(
          "sink file {} has {} bytes, and no valid checkpoint records how many of them were handled (see the resume "
          "line above), so the file cannot be cut back to what was handled; move the file away, then give the "
          "checkpoint a valid value with 'streamckpt checkpoint set' (or delete it with 'checkpoint reset': the file "
          "then starts empty)",
          path_, size);
    if (!start.metadata && size > 0 && !found)
      return fmt::format(
          "sink file {} has {} bytes, and no checkpoint of this consumer records them (a mistyped --data-dir or "
          "consumer name, or a file this sink did not write), so they are not this sink's output; move the file away "
          "or choose another file",
          path_, size);
    // A checkpoint that records no length was made with the stdout sink or
    // by `checkpoint set`: where to cut is unknown.
    if (start.metadata && start.metadata->empty() && size > 0)
      return fmt::format(
          "sink file {} has {} bytes, but the checkpoint records no file length (it was made with the stdout "
          "sink, or by 'checkpoint set'), so nothing says which of them were handled; move the file away or choose "
          "another file",
          path_, size);
    return {};
  }

  std::string not_regular(mode_t mode) const {
    const char* what = S_ISFIFO(mode)   ? "a FIFO (named pipe)"
                       : S_ISCHR(mode)  ? "a character device"
                       : S_ISBLK(mode)  ? "a block device"
                       : S_ISDIR(mode)  ? "a directory"
                       : S_ISSOCK(mode) ? "a socket"
                                        : "not a regular file";
    return fmt::format(
        "sink file {} is {}: the file sink writes only a regular file, which it can cut back to the checkpoint on "
        "start; choose a regular file (--sink stdout writes to a pipe)",
        path_, what);
  }

  // The file's mark; nullopt when it has none (or the file system keeps no
  // user attributes).
  std::optional<std::string> read_mark() const {
    char value[128] = {};
    const auto n = ::fgetxattr(fd_, k_owner_attribute, value, sizeof value - 1);
    if (n <= 0) return std::nullopt;
    return std::string(value, static_cast<std::size_t>(n));
  }

  static std::string sync_parent_directory(const std::filesystem::path& file) {
    auto parent = file.parent_path();
    if (parent.empty()) parent = ".";
    const int dir = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) return fmt::format("cannot open directory {}: {}", parent.string(), std::strerror(errno));
    const bool synced = ::fsync(dir) == 0;
    const int saved = errno;
    ::close(dir);
    if (!synced) return fmt::format("fsync of directory {} failed: {}", parent.string(), std::strerror(saved));
    return {};
  }

  std::string path_;
  int fd_ = -1;
  bool created_ = false;          // this run made the file (through a symlink: its target)
  std::filesystem::path opened_;  // the file opened: path_, or a symlink's target
  bool started_ = false;          // open() succeeded once: the file is this consumer's output
  std::uint64_t length_ = 0;
  std::string buffer_;
  bool can_retry_ = false;  // the last flush() failed, and may succeed later
};

}  // namespace

std::unique_ptr<Sink> make_file_sink(std::string path) { return std::make_unique<FileSink>(std::move(path)); }

}  // namespace streamckpt::cli
