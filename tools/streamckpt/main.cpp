#include "args.hpp"
#include "commands.hpp"
#include "help.hpp"
#include "version.hpp"

#include <fmt/format.h>

#include <sys/stat.h>
#include <cstdio>

namespace streamckpt::cli {

int fail(const std::string& message) {
  fmt::print(stderr, "streamckpt: error: {}\n", message);
  return 1;
}

namespace {

int print_help(const std::string& command) {
  fmt::print("{}", help_for(command));
  return 0;
}

int usage_error(const std::string& message) {
  fmt::print(stderr, "streamckpt: {}\n{}", message, usage());
  return 2;
}

}  // namespace
}  // namespace streamckpt::cli

int main(int argc, char** argv) {
  using namespace streamckpt::cli;
  std::vector<std::string> args(argv + 1, argv + argc);
  // Whatever the CLI creates is its user's alone, whatever umask it was
  // started with: the store holds the stream's position and the sink its
  // payloads. (The store's directory and a new sink file are also given
  // 0700 and 0600 explicitly; the metrics file is made 0644 on purpose.)
  ::umask(077);
  try {
    if (args.empty()) return usage_error("missing command");
    if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
      fmt::print("{}", full_help());
      return 0;
    }
    if (args[0] == "--version") {
      if (args.size() > 1) throw UsageError(fmt::format("--version takes no arguments, not '{}'", args[1]));
      return run_version({});
    }
    const std::string command = args[0];
    args.erase(args.begin());
    if (command == "consume") {
      if (asks_for_help(args)) return print_help("consume");
      return run_consume(args);
    }
    if (command == "checkpoint") {
      if (asks_for_help(args)) {
        const bool known = !args.empty() && (args[0] == "show" || args[0] == "list" || args[0] == "set" ||
                                             args[0] == "reset" || args[0] == "export" || args[0] == "import");
        return print_help(known ? "checkpoint " + args[0] : "checkpoint");
      }
      return run_checkpoint(args);
    }
    if (command == "group") {
      if (asks_for_help(args)) return print_help("group describe");
      return run_group(args);
    }
    if (command == "version") {
      if (asks_for_help(args)) return print_help("version");
      return run_version(args);
    }
    return usage_error(fmt::format("unknown command '{}'", command));
  } catch (const UsageError& e) {
    return usage_error(e.what());
  } catch (const std::exception& e) {
    return fail(e.what());
  }
}
