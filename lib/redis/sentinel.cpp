#include "redis/sentinel.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <string_view>

namespace streamckpt::redis {
namespace {

// A TCP port as Sentinel writes one: decimal, 1 to 65535.
std::optional<std::uint16_t> parse_port(std::string_view text) {
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (ec != std::errc{} || end != text.data() + text.size() || port == 0 || port > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(port);
}

}  // namespace

Command ask_master_command(const std::string& master) { return {"SENTINEL", "get-master-addr-by-name", master}; }

Result<Url::Address> master_address(const Value& reply, const std::string& master, std::string* why) {
  const auto fail = [&](std::string text) -> Result<Url::Address> {
    if (why) *why = std::move(text);
    return errc::connect_failed;
  };
  if (reply.is_nil()) return fail(fmt::format("it knows no master named '{}'", master));
  if (reply.is_error()) return fail(fmt::format("it refused: {}", reply.str));
  if (!reply.is_array() || reply.elements.size() != 2 || !reply.elements[0].is_string() ||
      !reply.elements[1].is_string() || reply.elements[0].str.empty())
    return fail("it gave an unexpected reply to SENTINEL get-master-addr-by-name");
  const auto port = parse_port(reply.elements[1].str);
  if (!port) return fail(fmt::format("it named port '{}' for master '{}'", reply.elements[1].str, master));
  return Url::Address{reply.elements[0].str, *port};
}

std::string role_of(const Value& reply) {
  if (!reply.is_array() || reply.elements.empty() || !reply.elements.front().is_string()) return {};
  return reply.elements.front().str;
}

std::optional<Url::Address> switched_master(const Value& push, const std::string& master) {
  if (!push.is_array() || push.elements.size() != 3) return std::nullopt;
  const auto& kind = push.elements[0];
  const auto& channel = push.elements[1];
  const auto& text = push.elements[2];
  if (!kind.is_string() || kind.str != "message" || !channel.is_string() || channel.str != k_switch_channel ||
      !text.is_string())
    return std::nullopt;
  std::vector<std::string_view> words;
  std::string_view rest = text.str;
  while (!rest.empty()) {
    const auto space = rest.find(' ');
    if (space != 0) words.push_back(rest.substr(0, space));
    if (space == std::string_view::npos) break;
    rest.remove_prefix(space + 1);
  }
  if (words.size() != 5 || words[0] != master || words[3].empty()) return std::nullopt;
  const auto port = parse_port(words[4]);
  if (!port) return std::nullopt;
  return Url::Address{std::string(words[3]), *port};
}

void prefer(std::vector<Url::Address>& hosts, std::size_t answered) {
  if (answered >= hosts.size()) return;
  std::rotate(hosts.begin(), hosts.begin() + static_cast<std::ptrdiff_t>(answered),
              hosts.begin() + static_cast<std::ptrdiff_t>(answered) + 1);
}

}  // namespace streamckpt::redis
