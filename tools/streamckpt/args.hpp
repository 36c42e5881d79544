// Command-line arguments: "--name value" options and "--flag" switches.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace streamckpt::cli {

// A usage error: the CLI prints it with the usage and exits 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Args {
 public:
  // `valued` take a value; `switches` take none. Anything else is a usage
  // error, as is a missing value or a repeated option.
  Args(const std::vector<std::string>& argv, const std::set<std::string>& valued,
       const std::set<std::string>& switches);

  bool has(const std::string& name) const { return values_.count(name) || switches_.count(name); }
  std::string required(const std::string& name) const;
  std::optional<std::string> optional(const std::string& name) const;
  std::string get_or(const std::string& name, const std::string& fallback) const;
  // A non-negative integer in [min, max]; usage error otherwise.
  std::uint64_t number_or(const std::string& name, std::uint64_t fallback, std::uint64_t min = 0,
                          std::uint64_t max = UINT64_MAX) const;
  // A stream, group or consumer name: required (optional for "group"), not
  // empty, at most CheckpointKey::k_max_name_bytes; usage error otherwise.
  std::string name(const std::string& name) const;
  // One of `choices`; usage error otherwise.
  std::string choice_or(const std::string& name, const std::vector<std::string>& choices,
                        const std::string& fallback) const;

 private:
  std::map<std::string, std::string> values_;
  std::set<std::string> switches_;
};

}  // namespace streamckpt::cli
