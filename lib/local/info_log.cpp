#include "local/info_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>

namespace streamckpt::detail {
namespace {

class PlainLog final : public rocksdb::Logger {
 public:
  PlainLog(const std::filesystem::path& dir, rocksdb::InfoLogLevel level, std::uint64_t max_bytes)
      : rocksdb::Logger(level), path_(dir / "LOG"), old_path_(dir / "LOG.old"), max_bytes_(max_bytes) {
    open_file();
  }
  ~PlainLog() override {
    if (fd_ >= 0) ::close(fd_);
  }

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    char line[1024];
    const auto prefix = timestamp(line, sizeof line);
    va_list copy;
    va_copy(copy, ap);
    const int n = std::vsnprintf(line + prefix, sizeof line - prefix - 1, format, copy);
    va_end(copy);
    if (n < 0) return;
    auto length = prefix + std::min<std::size_t>(static_cast<std::size_t>(n), sizeof line - prefix - 2);
    if (line[length - 1] != '\n') line[length++] = '\n';
    write_line(line, length);
  }

 private:
  static std::size_t timestamp(char* out, std::size_t size) {
    const auto now = std::chrono::system_clock::now();
    const auto t = std::chrono::system_clock::to_time_t(now);
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() % 1000000;
    std::tm tm{};
    ::localtime_r(&t, &tm);
    const int n = std::snprintf(out, size, "%04d/%02d/%02d-%02d:%02d:%02d.%06lld ", tm.tm_year + 1900, tm.tm_mon + 1,
                                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(us));
    return n > 0 ? static_cast<std::size_t>(n) : 0;
  }

  void open_file() {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    struct stat st {};
    size_ = fd_ >= 0 && ::fstat(fd_, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
  }

  void write_line(const char* line, std::size_t length) {
    std::lock_guard lock(mutex_);
    if (fd_ < 0) open_file();  // the disk may be back
    if (fd_ < 0) return;
    // A short or failed write loses this line only: the LOG is for people,
    // and nothing reads it back.
    const auto written = ::write(fd_, line, length);
    if (written > 0) size_ += static_cast<std::uint64_t>(written);
    if (size_ >= max_bytes_ && ::rename(path_.c_str(), old_path_.c_str()) == 0) {
      ::close(fd_);
      open_file();
    }
  }

  const std::filesystem::path path_, old_path_;
  const std::uint64_t max_bytes_;
  std::mutex mutex_;  // guards fd_ and size_: RocksDB logs from several threads
  int fd_ = -1;
  std::uint64_t size_ = 0;
};

}  // namespace

std::shared_ptr<rocksdb::Logger> make_info_log(const std::filesystem::path& dir, rocksdb::InfoLogLevel level,
                                               std::uint64_t max_bytes) {
  return std::make_shared<PlainLog>(dir, level, max_bytes);
}

}  // namespace streamckpt::detail
