#include "ledger.hpp"

#include <fmt/format.h>

#include <map>
#include <sstream>

namespace streamckpt::test {
namespace {

std::string first_few(const std::vector<int>& v) {
  std::string s;
  for (std::size_t i = 0; i < v.size() && i < 10; ++i) s += (i ? "," : "") + std::to_string(v[i]);
  if (v.size() > 10) s += fmt::format(",… ({} in all)", v.size());
  return s;
}

}  // namespace

std::string exactly_once_in_order(const std::vector<int>& handled, int total) {
  std::map<int, int> seen;
  std::vector<int> unknown, duplicated, missing;
  for (const int n : handled) {
    if (n < 1 || n > total) unknown.push_back(n);
    if (++seen[n] == 2) duplicated.push_back(n);
  }
  for (int n = 1; n <= total; ++n)
    if (!seen.count(n)) missing.push_back(n);
  std::string order;
  for (std::size_t i = 1; i < handled.size(); ++i) {
    if (handled[i] <= handled[i - 1]) {
      order = fmt::format("{} follows {} at line {}", handled[i], handled[i - 1], i + 1);
      break;
    }
  }
  if (unknown.empty() && duplicated.empty() && missing.empty() && order.empty())
    return fmt::format("each of the {} entries {}", total, k_exactly_once);
  std::string s = fmt::format("{} lines for {} entries:", handled.size(), total);
  if (!missing.empty()) s += " missing " + first_few(missing) + ";";
  if (!duplicated.empty()) s += " duplicated " + first_few(duplicated) + ";";
  if (!unknown.empty()) s += " never produced " + first_few(unknown) + ";";
  if (!order.empty()) s += " out of order: " + order + ";";
  return s;
}

std::string none_lost(const std::vector<int>& handled, int total) {
  std::vector<bool> seen(static_cast<std::size_t>(total) + 1, false);
  for (const int n : handled)
    if (n >= 1 && n <= total) seen[static_cast<std::size_t>(n)] = true;
  std::vector<int> missing;
  for (int n = 1; n <= total; ++n)
    if (!seen[static_cast<std::size_t>(n)]) missing.push_back(n);
  return missing.empty() ? "no entry lost" : "missing " + first_few(missing);
}

int occurrences(const std::string& haystack, const std::string& needle) {
  int count = 0;
  for (auto pos = haystack.find(needle); pos != std::string::npos; pos = haystack.find(needle, pos + needle.size()))
    ++count;
  return count;
}

std::vector<std::string> lines_with(const std::string& text, const std::string& needle) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.find(needle) != std::string::npos) lines.push_back(line);
  return lines;
}

}  // namespace streamckpt::test
