#include "temp_dir.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace streamckpt::bench {

TempDir::TempDir(const std::string& prefix) {
  std::error_code ec;
  const auto base = std::filesystem::temp_directory_path(ec);
  if (ec) {
    const char* tmpdir = std::getenv("TMPDIR");
    throw std::runtime_error(fmt::format("no temporary directory ({}): {}",
                                         tmpdir ? fmt::format("TMPDIR is '{}'", tmpdir) : "TMPDIR is unset, so /tmp",
                                         ec.message()));
  }
  std::string pattern = (base / (prefix + "-XXXXXX")).string();
  if (!::mkdtemp(pattern.data()))
    throw std::runtime_error("cannot create a temporary directory " + pattern + ": " + std::strerror(errno));
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace streamckpt::bench
