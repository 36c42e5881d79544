// The parent: the server, the workload, every scenario, the report.
#pragma once

#include "options.hpp"

namespace streamckpt::bench {

// Returns the exit status: 0, or 1 when a scenario failed or was incorrect.
// Throws Interrupted and std::runtime_error.
int run_bench(const BenchOptions& options);

}  // namespace streamckpt::bench
