// streamckpt group describe: a consumer group's members, their pending
// entries, idle times, checkpoints and lag, and the stream's state.
#include "checkpoint_common.hpp"
#include "commands.hpp"
#include "json.hpp"
#include "redis_auth.hpp"

#include <streamckpt/admin.hpp>

#include <fmt/format.h>

namespace streamckpt::cli {
namespace {

std::string number_json(const std::optional<std::uint64_t>& n) { return n ? std::to_string(*n) : "null"; }
std::string number_text(const std::optional<std::uint64_t>& n) { return n ? std::to_string(*n) : "-"; }

std::string checkpoint_cell(const CheckpointCopy& c) {
  switch (c.state) {
    case CheckpointCopy::State::absent:
      return "-";
    case CheckpointCopy::State::valid:
      return c.checkpoint->id.to_string();
    case CheckpointCopy::State::invalid:
      return "invalid";
  }
  return "-";
}

std::string json(const std::string& stream, const admin::GroupDescription& d) {
  const auto& s = d.stream;
  const auto& g = d.group;
  // Before Redis 7 there are no counts.
  const auto entries_added = s.counts_known ? std::optional<std::uint64_t>{s.entries_added} : std::nullopt;
  std::string out = fmt::format(
      R"({{"stream":{{"name":{},"length":{},"last_generated_id":{},"first_entry_id":{},"entries_added":{},"max_deleted_entry_id":{}}},)",
      json_string(stream), s.length, json_string(s.last_generated.to_string()),
      s.first_entry ? json_string(s.first_entry->to_string()) : "null", number_json(entries_added),
      s.counts_known ? json_string(s.max_deleted.to_string()) : "null");
  out += fmt::format(
      R"("group":{{"name":{},"last_delivered_id":{},"entries_read":{},"lag":{},"pending":{},"consumers":{}}},"members":[)",
      json_string(g.name), json_string(g.last_delivered.to_string()), number_json(g.entries_read), number_json(g.lag),
      g.pending, g.consumers);
  for (std::size_t i = 0; i < d.members.size(); ++i) {
    const auto& m = d.members[i];
    out += fmt::format(R"({}{{"name":{},"pending":{},"idle_ms":{},"redis":{},"local":{},"lag":{}}})", i ? "," : "",
                       json_string(m.name), m.pending, m.idle_ms, copy_json(m.redis),
                       m.local ? copy_json(*m.local) : "null", number_json(m.lag));
  }
  return out + "]}";
}

void print_text(const std::string& stream, const admin::GroupDescription& d) {
  const auto& s = d.stream;
  const auto& g = d.group;
  fmt::print("stream '{}': length {}, last-generated-id {}, first entry {}, entries-added {}\n", stream, s.length,
             s.last_generated.to_string(), s.first_entry ? s.first_entry->to_string() : "-",
             s.counts_known ? std::to_string(s.entries_added) : "-");
  fmt::print("group '{}': last-delivered-id {}, entries-read {}, lag {}, pending {}, members {}\n", g.name,
             g.last_delivered.to_string(), number_text(g.entries_read), number_text(g.lag), g.pending,
             d.members.size());
  fmt::print("MEMBER\tPENDING\tIDLE-MS\tREDIS-CHECKPOINT\tLOCAL-CHECKPOINT\tLAG\n");
  for (const auto& m : d.members)
    fmt::print("{}\t{}\t{}\t{}\t{}\t{}\n", m.name, m.pending, m.idle_ms, checkpoint_cell(m.redis),
               m.local ? checkpoint_cell(*m.local) : "not read", number_text(m.lag));
}

}  // namespace

int group_describe(const std::vector<std::string>& argv) {
  auto valued = k_redis_auth_options;
  valued.insert({"redis", "stream", "group", "data-dir"});
  const Args args(argv, valued, {"json"});
  const auto stream = args.name("stream");
  const auto group = args.required("group");
  if (group.size() > CheckpointKey::k_max_name_bytes)
    throw UsageError(
        fmt::format("--group must be at most {} bytes, not {}", CheckpointKey::k_max_name_bytes, group.size()));
  const admin::Place place{args.optional("data-dir").value_or(""),
                           redis_url_with_credentials(args, args.required("redis"))};
  const auto described = admin::describe_group(place, stream, group);
  if (!described) return fail(described.error().detail);
  if (args.has("json"))
    fmt::print("{}\n", json(stream, *described));
  else
    print_text(stream, *described);
  return 0;
}

int run_group(const std::vector<std::string>& argv) {
  if (argv.empty()) throw UsageError("group needs a subcommand: describe");
  if (argv[0] != "describe") throw UsageError(fmt::format("unknown group subcommand '{}'", argv[0]));
  return group_describe({argv.begin() + 1, argv.end()});
}

}  // namespace streamckpt::cli
