// streamckpt checkpoint <show|list|set|reset>: the dispatch.
#include "checkpoint_commands.hpp"
#include "commands.hpp"

#include "args.hpp"

#include <fmt/format.h>

namespace streamckpt::cli {

int run_checkpoint(const std::vector<std::string>& argv) {
  if (argv.empty()) throw UsageError("checkpoint needs a subcommand: show, list, set, reset, export or import");
  const std::vector<std::string> rest(argv.begin() + 1, argv.end());
  if (argv[0] == "show") return checkpoint_show(rest);
  if (argv[0] == "list") return checkpoint_list(rest);
  if (argv[0] == "set") return checkpoint_set(rest);
  if (argv[0] == "reset") return checkpoint_reset(rest);
  if (argv[0] == "export") return checkpoint_export(rest);
  if (argv[0] == "import") return checkpoint_import(rest);
  throw UsageError(fmt::format("unknown checkpoint subcommand '{}'", argv[0]));
}

}  // namespace streamckpt::cli
