#include "cli.hpp"
#include "redis_server.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace streamckpt::test {

std::string program_path(const char* variable) {
  const char* p = std::getenv(variable);
  if (!p) throw std::runtime_error(std::string(variable) + " is not set (run the tests with meson test)");
  return p;
}

std::string cli_path() { return program_path("STREAMCKPT_CLI"); }

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

CliProcess::CliProcess(const std::vector<std::string>& args, const std::filesystem::path& dir)
    : CliProcess(cli_path(), args, dir) {}

CliProcess::CliProcess(const std::string& program, const std::vector<std::string>& args,
                       const std::filesystem::path& dir) {
  static int counter = 0;
  ++counter;
  out_ = dir / ("cli-" + std::to_string(::getpid()) + "-" + std::to_string(counter) + ".out");
  err_ = dir / ("cli-" + std::to_string(::getpid()) + "-" + std::to_string(counter) + ".err");
  // Everything the child needs is built before the fork: between fork and
  // exec it must not allocate.
  std::vector<std::string> all = {program};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  // Until exec, the child runs this test process's code, with doctest's
  // handlers, which print a crash report to the redirected stdout and die by
  // the signal. A SIGTERM sent right after the fork must instead meet the
  // default action: the signals stay blocked across the fork, and the child
  // resets them before it unblocks.
  sigset_t stop_signals, old_mask;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  ::pthread_sigmask(SIG_BLOCK, &stop_signals, &old_mask);
  pid_ = ::fork();
  if (pid_ == 0) {
    ::signal(SIGTERM, SIG_DFL);
    ::signal(SIGINT, SIG_DFL);
    ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
    const int out = ::open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = ::open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(err, STDERR_FILENO);
    close_inherited_descriptors();
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  if (pid_ < 0) throw std::runtime_error("fork failed");
}

CliProcess::~CliProcess() {
  if (!status_) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  std::error_code ec;
  std::filesystem::remove(out_, ec);
  std::filesystem::remove(err_, ec);
}

void CliProcess::signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

bool CliProcess::running() {
  if (status_) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) status_ = status;
  return !status_;
}

CliResult CliProcess::wait() {
  if (!status_) {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    status_ = status;
  }
  return result();
}

std::optional<CliResult> CliProcess::wait_for(std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (running()) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return result();
}

CliResult CliProcess::kill() {
  if (running()) ::kill(pid_, SIGKILL);
  return wait();
}

CliResult CliProcess::result() const {
  CliResult r;
  r.exit_code = WIFEXITED(*status_) ? WEXITSTATUS(*status_) : -WTERMSIG(*status_);
  r.out = out();
  r.err = err();
  return r;
}

void close_inherited_descriptors() {
  if (::close_range(3, ~0U, 0) == 0) return;
  // Kernels before 5.9 have no close_range: close them one by one, up to a
  // bound far above what a test opens (the limit itself can be 2^30).
  for (int fd = 3; fd < 4096; ++fd) ::close(fd);
}

CliResult run_cli(const std::vector<std::string>& args) { return run_program(cli_path(), args); }

CliResult run_program(const std::string& program, const std::vector<std::string>& args) {
  TempDir dir;
  CliProcess p(program, args, dir.path());
  return p.wait();
}

ScopedEnv::ScopedEnv(std::string name, const std::optional<std::string>& value) : name_(std::move(name)) {
  if (const char* old = std::getenv(name_.c_str())) old_ = old;
  if (value)
    ::setenv(name_.c_str(), value->c_str(), 1);
  else
    ::unsetenv(name_.c_str());
}

ScopedEnv::~ScopedEnv() {
  if (old_)
    ::setenv(name_.c_str(), old_->c_str(), 1);
  else
    ::unsetenv(name_.c_str());
}

std::vector<int> handled_numbers(const std::string& out) {
  std::vector<int> numbers;
  std::size_t pos = 0;
  const std::string marker = "\"n\":\"";
  while ((pos = out.find(marker, pos)) != std::string::npos) {
    pos += marker.size();
    numbers.push_back(std::atoi(out.c_str() + pos));
  }
  return numbers;
}

}  // namespace streamckpt::test
