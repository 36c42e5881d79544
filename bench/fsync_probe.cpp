#include "fsync_probe.hpp"

#include "interrupt.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <unistd.h>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

namespace streamckpt::bench {

std::vector<double> probe_fdatasync(const std::filesystem::path& dir, int iterations) {
  const auto path = (dir / "fdatasync-probe").string();
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error(fmt::format("open {}: {}", path, std::strerror(errno)));
  char block[4096];
  for (std::size_t i = 0; i < sizeof block; ++i) block[i] = static_cast<char>(i * 131 + 7);

  std::vector<double> samples;
  samples.reserve(static_cast<std::size_t>(iterations));
  std::string error;
  for (int i = 0; i < iterations && error.empty() && !interrupted(); ++i) {
    block[0] = static_cast<char>(i);
    const auto start = std::chrono::steady_clock::now();
    if (::write(fd, block, sizeof block) != static_cast<ssize_t>(sizeof block))
      error = fmt::format("write {}: {}", path, std::strerror(errno));
    else if (::fdatasync(fd) != 0)
      error = fmt::format("fdatasync {}: {}", path, std::strerror(errno));
    samples.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
  }
  ::close(fd);
  ::unlink(path.c_str());
  if (!error.empty()) throw std::runtime_error(error);
  check_interrupted();
  return samples;
}

}  // namespace streamckpt::bench
