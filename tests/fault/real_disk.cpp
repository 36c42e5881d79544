#include "real_disk.hpp"

#include <fmt/format.h>

#include <sys/statvfs.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace streamckpt::test {
namespace {

std::string quoted(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

// The line of /proc/mounts for `mount_point` (the last one: mounts stack).
std::string mount_line(const std::filesystem::path& mount_point) {
  std::ifstream mounts("/proc/mounts");
  std::string line, found;
  while (std::getline(mounts, line)) {
    std::istringstream fields(line);
    std::string source, target;
    fields >> source >> target;
    if (target == mount_point.string()) found = line;
  }
  return found;
}

}  // namespace

void run_or_throw(const std::string& command) {
  const auto full = command + " 2>&1";
  FILE* pipe = ::popen(full.c_str(), "r");
  if (!pipe) throw std::runtime_error("cannot run: " + command);
  std::string output;
  char buffer[512];
  while (const auto n = std::fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
  const int status = ::pclose(pipe);
  if (status != 0) throw std::runtime_error(fmt::format("'{}' failed ({}): {}", command, status, output));
}

bool can_mount() {
  if (::geteuid() != 0) return false;
  static const bool ok = [] {
    char dir_template[] = "/tmp/streamckpt-mount-probe-XXXXXX";
    const char* dir = ::mkdtemp(dir_template);
    if (!dir) return false;
    const bool mounted =
        std::system(fmt::format("mount -t tmpfs -o size=64k tmpfs '{}' 2>/dev/null", dir).c_str()) == 0;
    if (mounted) std::system(fmt::format("umount '{}'", dir).c_str());
    ::rmdir(dir);
    return mounted;
  }();
  return ok;
}

SmallTmpfs::SmallTmpfs(std::filesystem::path mount_point, std::uint64_t bytes) : mount_point_(std::move(mount_point)) {
  std::filesystem::create_directories(mount_point_);
  run_or_throw(fmt::format("mount -t tmpfs -o size={},mode=0755 tmpfs {}", bytes, quoted(mount_point_)));
}

SmallTmpfs::~SmallTmpfs() {
  // Lazily: a killed child may not have closed its files yet.
  std::system(fmt::format("umount -l {} 2>/dev/null", quoted(mount_point_)).c_str());
}

std::uint64_t SmallTmpfs::fill() {
  const auto path = mount_point_ / "filler";
  FILE* f = std::fopen(path.c_str(), "ab");
  if (!f) throw std::runtime_error("cannot open " + path.string());
  std::setvbuf(f, nullptr, _IONBF, 0);
  const std::vector<char> zeros(4096, 0);
  std::uint64_t added = 0;
  // Down to single bytes, so that not even a partial block is left.
  for (std::size_t chunk = zeros.size(); chunk > 0; chunk /= 2) {
    while (std::fwrite(zeros.data(), 1, chunk, f) == chunk) added += chunk;
    std::clearerr(f);
  }
  std::fclose(f);
  return added;
}

void SmallTmpfs::free_space() { std::filesystem::remove(mount_point_ / "filler"); }

std::uint64_t SmallTmpfs::available_bytes() const {
  struct statvfs st {};
  if (::statvfs(mount_point_.c_str(), &st) != 0) return 0;
  return static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
}

LoopExt4::LoopExt4(const std::filesystem::path& image_dir, std::filesystem::path mount_point, std::uint64_t bytes)
    : image_(image_dir / "ext4.img"), mount_point_(std::move(mount_point)) {
  std::filesystem::create_directories(mount_point_);
  run_or_throw(fmt::format("truncate -s {} {} && mkfs.ext4 -q -F {}", bytes, quoted(image_), quoted(image_)));
  run_or_throw(fmt::format("mount -o loop,errors=remount-ro {} {}", quoted(image_), quoted(mount_point_)));
}

LoopExt4::~LoopExt4() {
  // Every mount of the image at the mount point (a repaired one stacks on
  // nothing: the broken one was detached), then the loop devices.
  std::system(fmt::format("umount -l {} 2>/dev/null", quoted(mount_point_)).c_str());
  std::system(
      fmt::format("for d in $(losetup -j {} -O NAME -n); do losetup -d $d; done 2>/dev/null", quoted(image_)).c_str());
}

std::string LoopExt4::device() const {
  std::istringstream fields(mount_line(mount_point_));
  std::string source;
  fields >> source;  // /dev/loopN
  return std::filesystem::path(source).filename();
}

void LoopExt4::trigger_error() {
  const auto trigger = fmt::format("/sys/fs/ext4/{}/trigger_fs_error", device());
  std::ofstream out(trigger);
  out << "streamckpt fault test\n";
  out.close();
  if (!out) throw std::runtime_error("cannot write " + trigger);
}

bool LoopExt4::read_only() const {
  std::istringstream fields(mount_line(mount_point_));
  std::string source, target, type, options;
  fields >> source >> target >> type >> options;
  return options.rfind("ro", 0) == 0 || options.find("emergency_ro") != std::string::npos;
}

void LoopExt4::repair_and_remount() {
  run_or_throw(fmt::format("umount -l {}", quoted(mount_point_)));
  // e2fsck exits 1 when it corrected errors: the file system is fine then.
  run_or_throw(fmt::format("e2fsck -fy {} >/dev/null; test $? -le 1", quoted(image_)));
  run_or_throw(fmt::format("mount -o loop,errors=remount-ro {} {}", quoted(image_), quoted(mount_point_)));
}

}  // namespace streamckpt::test
