#include "redis/sentinel.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace streamckpt::redis {

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
  const auto& port_text = reply.elements[1].str;
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || end != port_text.data() + port_text.size() || port == 0 || port > 65535)
    return fail(fmt::format("it named port '{}' for master '{}'", port_text, master));
  return Url::Address{reply.elements[0].str, static_cast<std::uint16_t>(port)};
}

std::string role_of(const Value& reply) {
  if (!reply.is_array() || reply.elements.empty() || !reply.elements.front().is_string()) return {};
  return reply.elements.front().str;
}

void prefer(std::vector<Url::Address>& sentinels, std::size_t answered) {
  if (answered >= sentinels.size()) return;
  std::rotate(sentinels.begin(), sentinels.begin() + static_cast<std::ptrdiff_t>(answered),
              sentinels.begin() + static_cast<std::ptrdiff_t>(answered) + 1);
}

}  // namespace streamckpt::redis
