// The CLI's subcommands. Each returns the process exit status: 0 success,
// 1 failure (after printing "streamckpt: error: …"), 2 usage error (thrown
// as UsageError).
#pragma once

#include <string>
#include <vector>

namespace streamckpt::cli {

int run_consume(const std::vector<std::string>& args);
int run_checkpoint(const std::vector<std::string>& args);
int run_group(const std::vector<std::string>& args);

// Prints "streamckpt: error: <message>" on stderr and returns 1.
int fail(const std::string& message);

}  // namespace streamckpt::cli
