#include "child_args.hpp"

#include "options.hpp"

#include <fmt/format.h>

namespace streamckpt::bench {

std::vector<std::string> ChildArgs::to_argv() const {
  return {"--scenario",      scenario,
          "--redis",         redis_url,
          "--stream",        stream,
          "--group",         group,
          "--consumer",      consumer,
          "--dir",           dir,
          "--ckpt-key",      ckpt_key,
          "--events",        std::to_string(events),
          "--batch",         std::to_string(batch),
          "--payload-bytes", std::to_string(payload_bytes),
          "--kill-after",    std::to_string(kill_after),
          "--consumers",     std::to_string(consumers)};
}

std::string many_stream(const std::string& stream, std::size_t i) { return fmt::format("{}:many-{}", stream, i); }

ChildArgs ChildArgs::parse(const std::vector<std::string>& args) {
  if (args.empty()) throw UsageError("--scenario needs a name");
  ChildArgs a;
  a.scenario = args[0];
  for (std::size_t i = 1; i + 1 < args.size(); i += 2) {
    const auto& name = args[i];
    const auto& value = args[i + 1];
    if (name == "--redis")
      a.redis_url = value;
    else if (name == "--stream")
      a.stream = value;
    else if (name == "--group")
      a.group = value;
    else if (name == "--consumer")
      a.consumer = value;
    else if (name == "--dir")
      a.dir = value;
    else if (name == "--ckpt-key")
      a.ckpt_key = value;
    else if (name == "--events")
      a.events = parse_number(name, value, 1, UINT64_MAX);
    else if (name == "--batch")
      a.batch = parse_number(name, value, 1, 100'000);
    else if (name == "--payload-bytes")
      a.payload_bytes = parse_number(name, value, 0, 1 << 20);
    else if (name == "--kill-after")
      a.kill_after = parse_number(name, value, 0, UINT64_MAX);
    else if (name == "--consumers")
      a.consumers = parse_number(name, value, 0, k_max_consumers);
    else
      throw UsageError(fmt::format("--scenario: unknown argument '{}'", name));
  }
  if (args.size() % 2 == 0) throw UsageError(fmt::format("--scenario: '{}' needs a value", args.back()));
  if (a.redis_url.empty() || a.stream.empty() || a.consumer.empty())
    throw UsageError("--scenario needs --redis, --stream and --consumer");
  return a;
}

}  // namespace streamckpt::bench
