// The parent's side of the children: run one scenario and collect its
// report; run the SIGKILL/restart loop and time each resume.
#pragma once

#include "child_args.hpp"
#include "progress.hpp"
#include "results.hpp"

#include <string>

namespace streamckpt::bench {

// Runs `args.scenario` in a child and turns its reports into a result
// (ratio_to_raw is left to the caller). Throws Interrupted.
ScenarioResult run_scenario(const std::string& exe, const ChildArgs& args, ProgressLine& progress);

// Starts the engine once to put a checkpoint in place, then `restarts` more
// times, each killed with SIGKILL once it has made kill_after events durable.
// Throws Interrupted.
ResumeResult run_resume(const std::string& exe, const ChildArgs& args, unsigned restarts, ProgressLine& progress);

}  // namespace streamckpt::bench
