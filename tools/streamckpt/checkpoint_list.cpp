// streamckpt checkpoint list: every checkpoint in a data directory.
#include "checkpoint_commands.hpp"
#include "checkpoint_common.hpp"
#include "commands.hpp"
#include "json.hpp"

#include <fmt/format.h>

namespace streamckpt::cli {

int checkpoint_list(const std::vector<std::string>& argv) {
  const Args args(argv, {"data-dir"}, {"json"});
  const auto listing = admin::list(args.required("data-dir"));
  if (!listing) return fail(listing.error().detail);
  const auto& all = listing->checkpoints;
  if (args.has("json")) {
    std::string out = "[";
    for (const auto& l : all) {
      if (out.size() > 1) out += ",";
      out += fmt::format(R"({{"stream":{},"group":{},"consumer":{},"id":{},"valid":{},"reason":{}}})",
                         json_string(l.key.stream), l.key.group.empty() ? "null" : json_string(l.key.group),
                         json_string(l.key.consumer),
                         l.copy.valid() ? json_string(l.copy.checkpoint->id.to_string()) : "null",
                         l.copy.valid() ? "true" : "false", l.copy.valid() ? "null" : json_string(l.copy.reason));
    }
    fmt::print("{}]\n", out);
  } else {
    for (const auto& l : all)
      fmt::print("{}\t{}\t{}\t{}\n", l.key.stream, l.key.group.empty() ? "-" : l.key.group, l.key.consumer,
                 copy_text(l.copy));
  }
  if (listing->undecodable)
    fmt::print(stderr, "streamckpt: {} keys in the store could not be decoded\n", listing->undecodable);
  return 0;
}

}  // namespace streamckpt::cli
