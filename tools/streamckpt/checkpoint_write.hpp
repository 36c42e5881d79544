// What checkpoint set and import share: admin::set() with --force and
// --dry-run, and its outcome printed.
#pragma once

#include "args.hpp"

#include <streamckpt/admin.hpp>

namespace streamckpt::cli {

// Prints how the position was found, then what was done (or, with --dry-run,
// what would be); returns the exit status.
int set_checkpoint(const Args& args, const CheckpointKey& key, admin::SetRequest request);

}  // namespace streamckpt::cli
