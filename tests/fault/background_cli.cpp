#include "background_cli.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <stdexcept>
#include <thread>

namespace streamckpt::test {

BackgroundCli::BackgroundCli(const std::vector<std::string>& args, const std::filesystem::path& dir) {
  static int counter = 0;
  ++counter;
  const auto stem = "bg-" + std::to_string(::getpid()) + "-" + std::to_string(counter);
  out_ = dir / (stem + ".out");
  err_ = dir / (stem + ".err");
  const auto path = cli_path();
  std::vector<std::string> all = {path};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    const int out = ::open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = ::open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(err, STDERR_FILENO);
    close_inherited_descriptors();  // its proxy's sockets above all
    ::execv(path.c_str(), argv.data());
    ::_exit(127);
  }
}

BackgroundCli::~BackgroundCli() {
  if (!exited_) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

std::string BackgroundCli::out() const { return read_file(out_); }
std::string BackgroundCli::err() const { return read_file(err_); }

bool BackgroundCli::running() {
  if (exited_) return false;
  if (::waitpid(pid_, &status_, WNOHANG) == pid_) exited_ = true;
  return !exited_;
}

void BackgroundCli::signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

CliResult BackgroundCli::result() const {
  CliResult r;
  r.exit_code = WIFEXITED(status_) ? WEXITSTATUS(status_) : -WTERMSIG(status_);
  r.out = out();
  r.err = err();
  return r;
}

std::optional<CliResult> BackgroundCli::wait_for(std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (running()) {
    if (std::chrono::steady_clock::now() >= until) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return result();
}

CliResult BackgroundCli::kill() {
  if (!exited_) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status_, 0);
    exited_ = true;
  }
  return result();
}

}  // namespace streamckpt::test
