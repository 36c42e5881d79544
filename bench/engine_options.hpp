// The Consumer's options in the engine scenarios: its defaults, plus what the
// benchmark decides (server, identity, data directory, --batch).
#pragma once

#include "child_args.hpp"
#include "result_pipe.hpp"

#include <streamckpt/options.hpp>

namespace streamckpt::bench {

// The consumer's log lines go to the parent as "log" reports.
ConsumerOptions engine_options(const ChildArgs& args, const ResultPipe& out);

}  // namespace streamckpt::bench
