// The scenario children. Each reports to the parent through `out` and
// returns the process's exit status.
#pragma once

#include "child_args.hpp"
#include "result_pipe.hpp"

namespace streamckpt::bench {

// raw-xreadgroup, redis-set-per-event, file-fsync-per-event (baselines.cpp).
int run_baseline(const ChildArgs& args, const ResultPipe& out);
// streamckpt, streamckpt-plain (engine_scenario.cpp).
int run_engine(const ChildArgs& args, const ResultPipe& out);
// streamckpt-many, streamckpt-many-own (many_scenario.cpp).
int run_many(const ChildArgs& args, const ResultPipe& out);
// One life of the SIGKILL/restart loop (resume_child.cpp).
int run_resume_child(const ChildArgs& args, const ResultPipe& out);

}  // namespace streamckpt::bench
