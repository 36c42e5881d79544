// Runs the streamckpt CLI, or another of the project's programs, as a real
// child process.
#pragma once

#include <sys/types.h>
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace streamckpt::test {

std::string read_file(const std::filesystem::path& path);

struct CliResult {
  int exit_code = -1;  // -signal when killed by a signal
  std::string out;
  std::string err;
};

// A program's path, from the environment variable `variable` set by meson.
std::string program_path(const char* variable);
// The CLI's path, from STREAMCKPT_CLI.
std::string cli_path();

class CliProcess {
 public:
  // Starts `streamckpt args…` with stdout and stderr going to files in `dir`.
  CliProcess(const std::vector<std::string>& args, const std::filesystem::path& dir);
  // The same for `program args…`.
  CliProcess(const std::string& program, const std::vector<std::string>& args, const std::filesystem::path& dir);
  // Kills the process (SIGKILL) when it is still running, and removes its
  // output files.
  ~CliProcess();
  CliProcess(const CliProcess&) = delete;
  CliProcess& operator=(const CliProcess&) = delete;

  // Sends `sig`, unless the process has been reaped (its pid may be reused).
  void signal(int sig);
  // Whether it still runs; reaps it, without waiting, when it has ended.
  bool running();
  // Waits for the end. A program still running after k_hang_limit is stuck,
  // not slow (every test's program ends within seconds, also under the
  // sanitizers): what it was doing (its threads' kernel waits, its stderr)
  // goes to this test's stderr, it is killed, and wait() throws, so that a
  // hang fails its own test with a diagnosis instead of meson's timeout.
  CliResult wait();
  static constexpr std::chrono::seconds k_hang_limit{240};
  // The same, unless the process is still running after `limit`: then nothing
  // (it keeps running).
  std::optional<CliResult> wait_for(std::chrono::milliseconds limit);
  // SIGKILL unless it has ended, then the result.
  CliResult kill();
  // What the process has written so far (all of it once it has ended).
  std::string out() const { return read_file(out_); }
  std::string err() const { return read_file(err_); }

 private:
  CliResult result() const;  // of a reaped process
  [[noreturn]] void report_hang();

  std::string command_;  // the command line, for the hang report
  int pid_ = -1;
  std::optional<int> status_;  // once reaped
  std::filesystem::path out_, err_;
};

// Starts `program` with argv (argv[0] the program; nullptr last), stdout and
// stderr going to `out` and `err` (inherited when empty), no descriptor of
// this process above stderr, SIGTERM and SIGINT at their default actions and
// unblocked. `search_path`: look `program` up in PATH. Throws when it cannot
// start.
pid_t spawn(const std::string& program, std::vector<char*>& argv, const std::filesystem::path& out = {},
            const std::filesystem::path& err = {}, bool search_path = false);

CliResult run_cli(const std::vector<std::string>& args);
CliResult run_program(const std::string& program, const std::vector<std::string>& args);

// An environment variable set (or, with nullopt, unset) for one scope: the
// programs started meanwhile inherit it.
class ScopedEnv {
 public:
  ScopedEnv(std::string name, const std::optional<std::string>& value);
  ~ScopedEnv();
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

// Whether `text` (a program's output, say) holds `part`.
inline bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The "n" field of every JSON line the stdout sink wrote, in order.
std::vector<int> handled_numbers(const std::string& out);

}  // namespace streamckpt::test
