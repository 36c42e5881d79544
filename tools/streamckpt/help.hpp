// The CLI's help texts. `streamckpt --help` prints all of them; -h or --help
// among a command's arguments prints that command's own.
#pragma once

#include <string>
#include <vector>

namespace streamckpt::cli {

// The synopsis of every command: printed after a usage error.
std::string usage();
// Every command's synopsis, description and options.
std::string full_help();
// One command's help: "consume", "checkpoint", or "checkpoint show|list|set|reset".
std::string help_for(const std::string& command);

// True when -h or --help is among `args`, wherever it stands.
bool asks_for_help(const std::vector<std::string>& args);

}  // namespace streamckpt::cli
