// streamckpt-bench: the Consumer against what users write instead. See
// --help, and options.cpp for the text.
#include "bench_run.hpp"
#include "child_args.hpp"
#include "interrupt.hpp"
#include "options.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  using namespace streamckpt::bench;
  const std::vector<std::string> args(argv + 1, argv + argc);
  try {
    if (!args.empty() && args[0] == "--scenario")
      return run_child(ChildArgs::parse(std::vector<std::string>(args.begin() + 1, args.end())));
    const auto options = parse_options(args);
    if (options.help) {
      std::fputs(usage_text(), stdout);
      return 0;
    }
    return run_bench(options);
  } catch (const UsageError& e) {
    fmt::print(stderr, "streamckpt-bench: {}\nTry 'streamckpt-bench --help'.\n", e.what());
    return 2;
  } catch (const Interrupted&) {
    fmt::print(stderr, "\nstreamckpt-bench: interrupted; cleaned up\n");
    return 130;
  } catch (const std::exception& e) {
    fmt::print(stderr, "\nstreamckpt-bench: {}\n", e.what());
    return 1;
  }
}
