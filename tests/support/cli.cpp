#include "cli.hpp"
#include "redis_server.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
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
  std::vector<std::string> all = {program};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (const auto& a : all) command_ += (command_.empty() ? "" : " ") + a;
  pid_ = spawn(program, argv, out_, err_);
}

// posix_spawn, not fork: the child runs none of this process's code before
// the exec. After a fork, a child of a multi-threaded test (ThreadSanitizer
// runs a thread of its own) may deadlock on a lock another thread held.
// posix_spawn also returns only once the program runs, so a signal sent right
// after meets the program itself: its default action until the program
// installs a handler.
pid_t spawn(const std::string& program, std::vector<char*>& argv, const std::filesystem::path& out,
            const std::filesystem::path& err, bool search_path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (!out.empty())
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (!err.empty())
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  // The test's own descriptors (a hiredis client, a proxy's sockets) do not
  // stay open in the program.
  posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t stop_signals, mask;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  ::pthread_sigmask(SIG_BLOCK, nullptr, &mask);
  sigdelset(&mask, SIGTERM);
  sigdelset(&mask, SIGINT);
  posix_spawnattr_setsigdefault(&attributes, &stop_signals);
  posix_spawnattr_setsigmask(&attributes, &mask);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  pid_t pid = -1;
  const int rc = search_path ? ::posix_spawnp(&pid, program.c_str(), &actions, &attributes, argv.data(), environ)
                             : ::posix_spawn(&pid, program.c_str(), &actions, &attributes, argv.data(), environ);
  posix_spawnattr_destroy(&attributes);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start " + program + ": " + std::strerror(rc));
  return pid;
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
  if (!status_ && !wait_for(k_hang_limit)) report_hang();
  return result();
}

void CliProcess::report_hang() {
  std::ostringstream report;
  report << "hang: '" << command_ << "' (pid " << pid_ << ") still runs after " << k_hang_limit.count()
         << " s; its threads:\n";
  std::error_code ec;
  const auto tasks = std::filesystem::path("/proc") / std::to_string(pid_) / "task";
  for (const auto& task : std::filesystem::directory_iterator(tasks, ec)) {
    auto line = [&](const char* name) {
      auto text = read_file(task.path() / name);
      while (!text.empty() && text.back() == '\n') text.pop_back();
      return text;
    };
    // Signals pending and blocked: a stop signal that never reached the
    // program shows here.
    std::string signals;
    std::istringstream status(read_file(task.path() / "status"));
    for (std::string l; std::getline(status, l);)
      if (l.starts_with("SigPnd") || l.starts_with("ShdPnd") || l.starts_with("SigBlk")) signals += " " + l;
    report << "  " << task.path().filename().string() << " " << line("comm") << ": wchan " << line("wchan")
           << ", syscall " << line("syscall") << ";" << signals << "\n";
  }
  auto err_text = err();
  constexpr std::size_t k_tail = 8000;
  if (err_text.size() > k_tail) err_text = "…" + err_text.substr(err_text.size() - k_tail);
  report << "its stderr:\n" << err_text << "\n";
  std::cerr << report.str() << std::flush;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  status_ = status;
  throw std::runtime_error("'" + command_ + "' did not exit within " + std::to_string(k_hang_limit.count()) +
                           " s (see the report above)");
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
