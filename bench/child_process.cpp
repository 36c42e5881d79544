#include "child_process.hpp"

#include "child_args.hpp"

#include "interrupt.hpp"
#include "result_pipe.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <stdexcept>

extern char** environ;

namespace streamckpt::bench {

bool ChildExit::clean() const { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }

std::string ChildExit::describe() const {
  if (WIFEXITED(status)) return fmt::format("exited with status {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return fmt::format("killed by signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
  return "ended";
}

std::string self_exe() {
  std::string path(4096, '\0');
  const auto n = ::readlink("/proc/self/exe", path.data(), path.size());
  if (n <= 0 || static_cast<std::size_t>(n) >= path.size())
    throw std::runtime_error("cannot find this executable's path (/proc/self/exe)");
  path.resize(static_cast<std::size_t>(n));
  return path;
}

ChildProcess::ChildProcess(const std::string& exe, const std::vector<std::string>& args) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error(fmt::format("pipe: {}", std::strerror(errno)));
  // Keep the write end above the child's fd 3, so that dup2 always clears
  // its close-on-exec flag.
  const int write_fd = ::fcntl(fds[1], F_DUPFD_CLOEXEC, 10);
  ::close(fds[1]);
  fd_ = fds[0];
  if (write_fd < 0) throw std::runtime_error(fmt::format("fcntl: {}", std::strerror(errno)));

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, write_fd, k_result_fd);
  posix_spawn_file_actions_addclosefrom_np(&actions, k_result_fd + 1);

  std::vector<std::string> all{exe};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);

  spawned_ns_ = monotonic_ns();
  const int rc = ::posix_spawn(&pid_, exe.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(write_fd);
  if (rc != 0) {
    pid_ = -1;
    throw std::runtime_error(fmt::format("cannot start {}: {}", exe, std::strerror(rc)));
  }
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  if (fd_ >= 0) ::close(fd_);
}

ChildProcess::Read ChildProcess::read_line(std::string& line, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (const auto nl = buffer_.find('\n'); nl != std::string::npos) {
      line.assign(buffer_, 0, nl);
      buffer_.erase(0, nl + 1);
      return Read::line;
    }
    if (eof_) return Read::eof;
    check_interrupted();
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Read::timeout;
    pollfd p{fd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 1000)) + 1);
    if (ready < 0 && errno != EINTR) throw std::runtime_error(fmt::format("poll: {}", std::strerror(errno)));
    if (ready <= 0) continue;
    char chunk[4096];
    const auto n = ::read(fd_, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::runtime_error(fmt::format("read: {}", std::strerror(errno)));
    if (n == 0) eof_ = true;
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
}

void ChildProcess::kill(int sig) {
  if (pid_ > 0) ::kill(pid_, sig);
}

ChildExit ChildProcess::wait() {
  if (pid_ <= 0) return exit_;
  for (;;) {
    rusage usage{};
    int status = 0;
    const pid_t r = ::wait4(pid_, &status, 0, &usage);
    if (r == pid_) {
      pid_ = -1;
      exit_.status = status;
      exit_.cpu_s = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                    static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
      exit_.maxrss_mb = static_cast<double>(usage.ru_maxrss) / 1024.0;
      return exit_;
    }
    if (r < 0 && errno != EINTR) throw std::runtime_error(fmt::format("wait4: {}", std::strerror(errno)));
    if (interrupted()) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
      throw Interrupted();
    }
  }
}

}  // namespace streamckpt::bench
