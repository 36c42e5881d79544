#include "args.hpp"

#include <streamckpt/checkpoint.hpp>

#include <fmt/format.h>

#include <charconv>

namespace streamckpt::cli {

Args::Args(const std::vector<std::string>& argv, const std::set<std::string>& valued,
           const std::set<std::string>& switches) {
  for (std::size_t i = 0; i < argv.size(); ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0) throw UsageError(fmt::format("unexpected argument '{}'", arg));
    std::string name = arg.substr(2);
    std::optional<std::string> inline_value;
    if (const auto eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (switches.count(name)) {
      if (inline_value) throw UsageError(fmt::format("--{} takes no value", name));
      switches_.insert(name);
      continue;
    }
    if (!valued.count(name)) throw UsageError(fmt::format("unknown option --{}", name));
    if (values_.count(name)) throw UsageError(fmt::format("--{} given twice", name));
    if (inline_value) {
      values_[name] = *inline_value;
    } else {
      if (i + 1 >= argv.size()) throw UsageError(fmt::format("--{} needs a value", name));
      values_[name] = argv[++i];
    }
  }
}

std::string Args::required(const std::string& name) const {
  const auto it = values_.find(name);
  if (it == values_.end()) throw UsageError(fmt::format("--{} is required", name));
  if (it->second.empty()) throw UsageError(fmt::format("--{} must not be empty", name));
  return it->second;
}

std::optional<std::string> Args::optional(const std::string& name) const {
  const auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::string Args::get_or(const std::string& name, const std::string& fallback) const {
  return optional(name).value_or(fallback);
}

std::uint64_t Args::number_or(const std::string& name, std::uint64_t fallback, std::uint64_t min,
                              std::uint64_t max) const {
  const auto text = optional(name);
  if (!text) return fallback;
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (text->empty() || ec != std::errc{} || end != text->data() + text->size() || value < min || value > max)
    throw UsageError(fmt::format("--{} must be a whole number from {} to {}, not '{}'", name, min, max, *text));
  return value;
}

std::string Args::name(const std::string& name) const {
  const auto value = name == "group" ? get_or(name, "") : required(name);
  if (has(name) && value.empty()) throw UsageError(fmt::format("--{} must not be empty", name));
  if (value.size() > CheckpointKey::k_max_name_bytes)
    throw UsageError(
        fmt::format("--{} must be at most {} bytes, not {}", name, CheckpointKey::k_max_name_bytes, value.size()));
  return value;
}

std::string Args::choice_or(const std::string& name, const std::vector<std::string>& choices,
                            const std::string& fallback) const {
  const auto text = optional(name);
  if (!text) return fallback;
  for (const auto& c : choices)
    if (c == *text) return c;
  // Joined by hand: fmt::join's runtime parse of the element's format spec
  // trips GCC 12's -Wstringop-overflow inside fmt 9 at -O3 (a false positive).
  std::string listed;
  for (const auto& c : choices) listed += (listed.empty() ? "" : "|") + c;
  throw UsageError(fmt::format("--{} must be one of {}, not '{}'", name, listed, *text));
}

}  // namespace streamckpt::cli
