// A fresh temporary directory under $TMPDIR (or /tmp), removed by the
// destructor.
#pragma once

#include <filesystem>
#include <string>

namespace streamckpt::bench {

class TempDir {
 public:
  explicit TempDir(const std::string& prefix);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace streamckpt::bench
