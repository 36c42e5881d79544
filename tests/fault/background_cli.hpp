// The CLI as a child process that the test watches while it runs: its output
// so far, and a wait with an upper bound, so that a hang fails the test
// instead of stalling the suite.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "cli.hpp"

namespace streamckpt::test {

class BackgroundCli {
 public:
  // Starts `streamckpt args…`; stdout and stderr go to files in `dir`.
  BackgroundCli(const std::vector<std::string>& args, const std::filesystem::path& dir);
  // Kills the process (SIGKILL) when it is still running.
  ~BackgroundCli();
  BackgroundCli(const BackgroundCli&) = delete;
  BackgroundCli& operator=(const BackgroundCli&) = delete;

  std::string out() const;  // stdout so far
  std::string err() const;  // stderr so far
  bool running();
  void signal(int sig);

  // Waits at most `limit` for the process to exit; nullopt when it is still
  // running then (it keeps running).
  std::optional<CliResult> wait_for(std::chrono::milliseconds limit);
  // SIGKILL, then the result.
  CliResult kill();

 private:
  CliResult result() const;
  int pid_ = -1;
  int status_ = 0;
  bool exited_ = false;
  std::filesystem::path out_, err_;
};

}  // namespace streamckpt::test
