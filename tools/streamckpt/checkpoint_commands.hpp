// The checkpoint subcommands, each in its own file; run_checkpoint()
// (commands.hpp) dispatches to them. Each returns the exit status.
#pragma once

#include <string>
#include <vector>

namespace streamckpt::cli {

int checkpoint_show(const std::vector<std::string>& args);
int checkpoint_list(const std::vector<std::string>& args);
int checkpoint_set(const std::vector<std::string>& args);
int checkpoint_reset(const std::vector<std::string>& args);
int checkpoint_export(const std::vector<std::string>& args);
int checkpoint_import(const std::vector<std::string>& args);

}  // namespace streamckpt::cli
