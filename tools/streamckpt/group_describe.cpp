// streamckpt group describe: a consumer group's members, their pending
// entries, idle times, checkpoints and lag, and the stream's state.
#include "checkpoint_common.hpp"
#include "checkpoint_write.hpp"
#include "commands.hpp"
#include "json.hpp"
#include "redis_auth.hpp"

#include "redis/checkpoint_store.hpp"

#include <fmt/format.h>

#include <map>

namespace streamckpt::cli {
namespace {

// XINFO's replies: flat arrays of field, value.
std::map<std::string, redis::Value> fields_of(const redis::Value& v) {
  std::map<std::string, redis::Value> out;
  for (std::size_t i = 0; i + 1 < v.elements.size(); i += 2) out[v.elements[i].str] = v.elements[i + 1];
  return out;
}

std::optional<long long> integer(const std::map<std::string, redis::Value>& f, const std::string& name) {
  const auto it = f.find(name);
  if (it == f.end() || it->second.type != redis::Value::Type::integer) return std::nullopt;
  return it->second.integer;
}

std::string text(const std::map<std::string, redis::Value>& f, const std::string& name) {
  const auto it = f.find(name);
  return it == f.end() || !it->second.is_string() ? std::string{} : it->second.str;
}

std::string number_json(const std::optional<long long>& n) { return n ? std::to_string(*n) : "null"; }
std::string number_text(const std::optional<long long>& n) { return n ? std::to_string(*n) : "-"; }

struct Member {
  std::string name;
  long long pending = 0;
  long long idle_ms = 0;
  CheckpointCopy redis;
  std::optional<CheckpointCopy> local;  // with --data-dir
  std::optional<long long> lag;         // entries-added minus the newest copy's entries_seen
};

const Checkpoint* newest(const Member& m) {
  const Checkpoint* best = m.redis.valid() ? &*m.redis.checkpoint : nullptr;
  if (m.local && m.local->valid() && (!best || m.local->checkpoint->rank() > best->rank()))
    best = &*m.local->checkpoint;
  return best;
}

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
  std::unique_ptr<LocalStore> store;
  if (const auto dir = args.optional("data-dir"))
    if (auto error = open_for_reading(*dir, store); !error.empty()) return fail(error);

  Writable w;
  if (auto error = open_redis(args, w); !error.empty()) return fail(error);
  std::string detail;
  if (run_sync(*w.io, w.conn->connect(&detail))) return fail(detail);
  const auto run = [&](redis::Command c, const std::string& what) -> Result<redis::Value> {
    auto r = run_sync(*w.io, w.conn->exec_one(std::move(c)));
    if (!r) throw std::runtime_error(fmt::format("{} failed: {}", what, r.error().message()));
    return r;
  };
  auto info = run(redis::command("XINFO", "STREAM", stream), "XINFO STREAM");
  if (info->is_error()) {
    if (info->str.find("no such key") != std::string::npos)
      return fail(fmt::format("stream '{}' does not exist", stream));
    return fail(fmt::format("XINFO STREAM {} failed: {}", stream, info->str));
  }
  const auto s = fields_of(*info);
  auto groups = run(redis::command("XINFO", "GROUPS", stream), "XINFO GROUPS");
  if (groups->is_error()) return fail(fmt::format("XINFO GROUPS {} failed: {}", stream, groups->str));
  std::optional<std::map<std::string, redis::Value>> g;
  for (const auto& entry : groups->elements)
    if (auto f = fields_of(entry); text(f, "name") == group) g = std::move(f);
  if (!g) return fail(fmt::format("stream '{}' has no group '{}'", stream, group));
  auto consumers = run(redis::command("XINFO", "CONSUMERS", stream, group), "XINFO CONSUMERS");
  if (consumers->is_error())
    return fail(fmt::format("XINFO CONSUMERS {} {} failed: {}", stream, group, consumers->str));

  const auto entries_added = integer(s, "entries-added");
  std::vector<Member> members;
  for (const auto& entry : consumers->elements) {
    const auto f = fields_of(entry);
    Member m;
    m.name = text(f, "name");
    m.pending = integer(f, "pending").value_or(0);
    m.idle_ms = integer(f, "idle").value_or(0);
    const CheckpointKey key{stream, group, m.name};
    auto copy = run_sync(*w.io, redis::read_checkpoint(*w.conn, key, &detail));
    if (!copy) return fail(detail);
    m.redis = std::move(*copy);
    if (store) m.local = store->read(key);
    if (const auto* c = newest(m); c && entries_added)
      m.lag = *entries_added - std::min<long long>(*entries_added, static_cast<long long>(c->entries_seen));
    members.push_back(std::move(m));
  }

  const auto first_entry = [&]() -> std::string {
    const auto it = s.find("first-entry");
    if (it == s.end() || !it->second.is_array() || it->second.elements.empty()) return {};
    return it->second.elements[0].str;
  }();
  if (args.has("json")) {
    std::string out = fmt::format(
        R"({{"stream":{{"name":{},"length":{},"last_generated_id":{},"first_entry_id":{},"entries_added":{},"max_deleted_entry_id":{}}},)",
        json_string(stream), number_json(integer(s, "length")), json_string(text(s, "last-generated-id")),
        first_entry.empty() ? "null" : json_string(first_entry), number_json(entries_added),
        s.count("max-deleted-entry-id") ? json_string(text(s, "max-deleted-entry-id")) : "null");
    out += fmt::format(
        R"("group":{{"name":{},"last_delivered_id":{},"entries_read":{},"lag":{},"pending":{},"consumers":{}}},"members":[)",
        json_string(group), json_string(text(*g, "last-delivered-id")), number_json(integer(*g, "entries-read")),
        number_json(integer(*g, "lag")), number_json(integer(*g, "pending")), number_json(integer(*g, "consumers")));
    for (std::size_t i = 0; i < members.size(); ++i) {
      const auto& m = members[i];
      out += fmt::format(R"({}{{"name":{},"pending":{},"idle_ms":{},"redis":{},"local":{},"lag":{}}})", i ? "," : "",
                         json_string(m.name), m.pending, m.idle_ms, copy_json(m.redis),
                         m.local ? copy_json(*m.local) : "null", number_json(m.lag));
    }
    fmt::print("{}]}}\n", out);
    return 0;
  }
  fmt::print("stream '{}': length {}, last-generated-id {}, first entry {}, entries-added {}\n", stream,
             number_text(integer(s, "length")), text(s, "last-generated-id"), first_entry.empty() ? "-" : first_entry,
             number_text(entries_added));
  fmt::print("group '{}': last-delivered-id {}, entries-read {}, lag {}, pending {}, members {}\n", group,
             text(*g, "last-delivered-id"), number_text(integer(*g, "entries-read")), number_text(integer(*g, "lag")),
             number_text(integer(*g, "pending")), members.size());
  fmt::print("MEMBER\tPENDING\tIDLE-MS\tREDIS-CHECKPOINT\tLOCAL-CHECKPOINT\tLAG\n");
  for (const auto& m : members)
    fmt::print("{}\t{}\t{}\t{}\t{}\t{}\n", m.name, m.pending, m.idle_ms, checkpoint_cell(m.redis),
               m.local ? checkpoint_cell(*m.local) : "not read", number_text(m.lag));
  return 0;
}

int run_group(const std::vector<std::string>& argv) {
  if (argv.empty()) throw UsageError("group needs a subcommand: describe");
  if (argv[0] != "describe") throw UsageError(fmt::format("unknown group subcommand '{}'", argv[0]));
  return group_describe({argv.begin() + 1, argv.end()});
}

}  // namespace streamckpt::cli
