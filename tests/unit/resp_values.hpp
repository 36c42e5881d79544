// RESP values built by hand, as the decoder would give them, for the unit
// tests of what reads replies.
#pragma once

#include "redis/resp.hpp"

#include <string>
#include <utility>
#include <vector>

namespace streamckpt::test {

inline redis::Value value_of(redis::Value::Type type, std::string s = {}) {
  redis::Value v;
  v.type = type;
  v.str = std::move(s);
  return v;
}
inline redis::Value str(std::string s) { return value_of(redis::Value::Type::string, std::move(s)); }
inline redis::Value status(std::string s) { return value_of(redis::Value::Type::status, std::move(s)); }
inline redis::Value error(std::string s) { return value_of(redis::Value::Type::error, std::move(s)); }
inline redis::Value integer(long long n) {
  auto v = value_of(redis::Value::Type::integer);
  v.integer = n;
  return v;
}
inline redis::Value array(std::vector<redis::Value> elements) {
  auto v = value_of(redis::Value::Type::array);
  v.elements = std::move(elements);
  return v;
}

}  // namespace streamckpt::test
