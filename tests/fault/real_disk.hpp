// Real file systems that fail, for the storage fault tests: a small tmpfs
// that fills up, and a loop-mounted ext4 that remounts itself read-only after
// an error. Both need root (mount); the destructors unmount and clean up,
// also when a test fails.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace streamckpt::test {

// Whether this process may mount file systems (root, with tmpfs and loop
// devices available).
bool can_mount();

// Runs a shell command; throws with its output when it fails.
void run_or_throw(const std::string& command);

// A tmpfs of `bytes` mounted at `mount_point` (created when missing).
class SmallTmpfs {
 public:
  SmallTmpfs(std::filesystem::path mount_point, std::uint64_t bytes);
  ~SmallTmpfs();
  SmallTmpfs(const SmallTmpfs&) = delete;
  SmallTmpfs& operator=(const SmallTmpfs&) = delete;
  const std::filesystem::path& path() const { return mount_point_; }

  // Appends zeros to the filler file until the file system is full; returns
  // the bytes added. Call again to take what was freed since.
  std::uint64_t fill();
  // Deletes the filler file: the space comes back.
  void free_space();
  std::uint64_t available_bytes() const;

 private:
  std::filesystem::path mount_point_;
};

// An ext4 image of `bytes` in `image_dir`, loop-mounted at `mount_point`
// with errors=remount-ro.
class LoopExt4 {
 public:
  LoopExt4(const std::filesystem::path& image_dir, std::filesystem::path mount_point, std::uint64_t bytes);
  ~LoopExt4();
  LoopExt4(const LoopExt4&) = delete;
  LoopExt4& operator=(const LoopExt4&) = delete;
  const std::filesystem::path& path() const { return mount_point_; }

  // Reports an error to ext4 as a failing disk would (sysfs trigger_fs_error):
  // the journal aborts and the file system turns read-only.
  void trigger_error();
  // Whether the mount is read-only now.
  bool read_only() const;
  // What an operator does: detach the broken mount (lazily: a process may
  // still hold files on it), e2fsck the image, and mount it again at the
  // same place.
  void repair_and_remount();

 private:
  std::string device() const;  // "loop3", of the current mount
  std::filesystem::path image_, mount_point_;
};

}  // namespace streamckpt::test
