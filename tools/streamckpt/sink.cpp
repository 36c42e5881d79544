#include "sink.hpp"

#include "json.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace streamckpt::cli {

std::string event_json_line(const Event& event) {
  std::string line = R"({"id":")" + event.id.to_string() + R"(","fields":{)";
  bool first = true;
  for (const auto& [name, value] : event.fields) {
    if (!first) line.push_back(',');
    first = false;
    line += json_string(name);
    line.push_back(':');
    line += json_string(value);
  }
  line += "}}\n";
  return line;
}

namespace {

// Lines go to stdout and are flushed before their acks: a line is out of the
// process before its checkpoint can cover it.
class StdoutSink final : public Sink {
 public:
  std::string open(const SinkStart&) override { return {}; }
  std::string write(const Event& event, std::optional<std::string>& metadata) override {
    buffer_ += event_json_line(event);
    metadata.reset();
    return {};
  }
  std::string flush() override {
    std::size_t done = 0;
    while (done < buffer_.size()) {
      const auto n = ::write(STDOUT_FILENO, buffer_.data() + done, buffer_.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return fmt::format("writing to stdout failed: {}", std::strerror(errno));
      done += static_cast<std::size_t>(n);
    }
    buffer_.clear();
    return {};
  }

 private:
  std::string buffer_;
};

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
    if (fd_ >= 0) ::close(fd_);
  }

  std::string open(const SinkStart& start) override {
    if (fd_ >= 0) ::close(fd_);  // opened again after an in-process restart
    buffer_.clear();
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    const bool created = fd_ >= 0;
    if (!created && errno == EEXIST) fd_ = ::open(path_.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd_ < 0) return fmt::format("cannot open sink file {}: {}", path_, std::strerror(errno));
    // One writer at a time, from the owner check to the last line: two
    // consumers that both found the file unmarked would interleave lines.
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0)
      return errno == EWOULDBLOCK
                 ? fmt::format(
                       "sink file {} is in use: another streamckpt consume (or another process) holds its "
                       "lock; give each consumer its own file",
                       path_)
                 : fmt::format("cannot lock sink file {}: {}", path_, std::strerror(errno));
    // A new file's name must survive a power loss as its lines will.
    if (created)
      if (auto error = sync_parent_directory(); !error.empty()) return error;
    struct stat st {};
    if (::fstat(fd_, &st) != 0) return fmt::format("cannot stat {}: {}", path_, std::strerror(errno));
    const auto size = static_cast<std::uint64_t>(st.st_size);
    const auto& metadata = start.metadata;
    const auto ours = mark_of(start.owner);
    const auto found = read_mark();
    if (auto refusal = refuse_foreign(start, size, found); !refusal.empty()) return refusal;
    std::uint64_t recorded = 0;
    if (metadata && !metadata->empty()) {
      const auto length = recorded_length(*metadata);
      if (!length)
        return fmt::format(
            "the checkpoint's metadata '{}' is not a file length; was this data directory used with another sink?",
            *metadata);
      recorded = *length;
    }
    if (size < recorded)
      return fmt::format(
          "sink file {} has {} bytes but its checkpoint records {}: it was truncated or replaced; restore it or reset "
          "the checkpoint",
          path_, size, recorded);
    // Marked before anything is cut or written, durably. Where the mark cannot
    // be set (a file system without user attributes), the file stays unmarked:
    // a first run that crashed before its first commit then leaves a file the
    // next start refuses, which only costs moving it away.
    if (found != ours && ::fsetxattr(fd_, k_owner_attribute, ours.data(), ours.size(), 0) == 0 && ::fsync(fd_) != 0)
      return fmt::format("fsync of {} failed: {}", path_, std::strerror(errno));
    if (size > recorded) {
      if (::ftruncate(fd_, static_cast<off_t>(recorded)) != 0)
        return fmt::format("cannot truncate {}: {}", path_, std::strerror(errno));
      if (start.log)
        start.log(
            fmt::format("sink file {} cut from {} to {} bytes: the lines after the checkpoint, whose events "
                        "are handled again",
                        path_, size, recorded));
    }
    if (::lseek(fd_, static_cast<off_t>(recorded), SEEK_SET) < 0)
      return fmt::format("cannot seek in {}: {}", path_, std::strerror(errno));
    length_ = recorded;
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
    std::size_t done = 0;
    while (done < buffer_.size()) {
      const auto n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return fmt::format("writing to {} failed: {}", path_, std::strerror(errno));
      done += static_cast<std::size_t>(n);
    }
    length_ += buffer_.size();
    buffer_.clear();
    // The lines must reach the disk before a checkpoint that covers them.
    if (::fdatasync(fd_) != 0) return fmt::format("fdatasync of {} failed: {}", path_, std::strerror(errno));
    return {};
  }

 private:
  std::string sync_parent_directory() const {
    auto parent = std::filesystem::path(path_).parent_path();
    if (parent.empty()) parent = ".";
    const int dir = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) return fmt::format("cannot open directory {}: {}", parent.string(), std::strerror(errno));
    const bool synced = ::fsync(dir) == 0;
    const int saved = errno;
    ::close(dir);
    if (!synced) return fmt::format("fsync of directory {} failed: {}", parent.string(), std::strerror(saved));
    return {};
  }

  static std::string mark_of(const SinkOwner& owner) {
    return text_hash(owner.identity) + ":" + text_hash(owner.data_dir);
  }

  // A message when the file is not this consumer's output; "" when it is.
  std::string refuse_foreign(const SinkStart& start, std::uint64_t size,
                             const std::optional<std::string>& found) const {
    if (start.unknown)
      return "no valid checkpoint records the sink file's length (see the resume line above), so the file cannot be "
             "cut back to what was handled; move the file away, then give the checkpoint a valid value with "
             "'streamckpt checkpoint set' (or delete it with 'checkpoint reset': the file then starts empty)";
    const auto ours = mark_of(start.owner);
    const auto identity = ours.substr(0, ours.find(':') + 1);
    if (found && found->rfind(identity, 0) != 0)
      return fmt::format(
          "sink file {} carries another consumer's mark ({} {}): another stream, group or consumer writes it; "
          "choose another file",
          path_, k_owner_attribute, *found);
    // Even when this directory holds a checkpoint: start-up re-seeds an empty
    // (mistyped) directory from the Redis copy, which may lag behind.
    if (found && *found != ours && size > 0)
      return fmt::format(
          "sink file {} was written by this consumer with another data directory than {} (a mistyped --data-dir, "
          "or a directory that was moved or lost); use that data directory, or, for this one to go on with the "
          "file, remove the mark with 'setfattr -x {} {}'",
          path_, start.owner.data_dir, k_owner_attribute, path_);
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

  // The file's mark; nullopt when it has none (or the file system keeps no
  // user attributes).
  std::optional<std::string> read_mark() const {
    char value[128] = {};
    const auto n = ::fgetxattr(fd_, k_owner_attribute, value, sizeof value - 1);
    if (n <= 0) return std::nullopt;
    return std::string(value, static_cast<std::size_t>(n));
  }

  std::string path_;
  int fd_ = -1;
  std::uint64_t length_ = 0;
  std::string buffer_;
};

}  // namespace

std::unique_ptr<Sink> make_sink(const std::string& spec) {
  if (spec == "stdout") return std::make_unique<StdoutSink>();
  if (spec.rfind("file:", 0) == 0 && spec.size() > 5) return std::make_unique<FileSink>(spec.substr(5));
  return nullptr;
}

SinkStart sink_start_of(const ResumeReport& r, const ConsumerOptions& options) {
  SinkStart start;
  start.owner = sink_owner(options);
  start.log = options.log;
  const bool any_copy =
      r.local.state != CheckpointCopy::State::absent || r.redis.state != CheckpointCopy::State::absent;
  if (r.winner() || r.regressed_from)
    start.metadata = r.metadata;
  else if (any_copy)
    start.unknown = true;
  return start;
}

SinkOwner sink_owner(const ConsumerOptions& options) {
  std::error_code ec;
  auto dir = std::filesystem::canonical(options.data_dir, ec);
  if (ec) dir = std::filesystem::absolute(options.data_dir, ec).lexically_normal();
  const auto& key = options.key;
  // Length-prefixed, so that no two identities read the same.
  return {fmt::format("{}:{}{}:{}{}:{}", key.stream.size(), key.stream, key.group.size(), key.group,
                      key.consumer.size(), key.consumer),
          dir.string()};
}

}  // namespace streamckpt::cli
