#include "child_args.hpp"
#include "options.hpp"
#include "result_pipe.hpp"
#include "scenarios.hpp"

#include <fmt/format.h>

#include <fcntl.h>

namespace streamckpt::bench {

int run_child(const ChildArgs& args) {
  if (::fcntl(k_result_fd, F_GETFD) < 0)
    throw UsageError("--scenario is internal: the benchmark starts it with its result pipe on fd 3");
  const ResultPipe out(k_result_fd);
  try {
    if (args.scenario == k_raw || args.scenario == k_redis_set || args.scenario == k_file_fsync)
      return run_baseline(args, out);
    if (args.scenario == k_engine || args.scenario == k_engine_plain) return run_engine(args, out);
    if (args.scenario == k_many_shared || args.scenario == k_many_own) return run_many(args, out);
    if (args.scenario == k_resume) return run_resume_child(args, out);
    out.send("error", fmt::format("unknown scenario '{}'", args.scenario));
  } catch (const std::exception& e) {
    out.send("error", e.what());
  }
  return 1;
}

}  // namespace streamckpt::bench
