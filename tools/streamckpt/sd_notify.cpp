#include "sd_notify.hpp"

#include <fmt/format.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string_view>

namespace streamckpt::cli {
namespace {

bool parse_number(std::string_view text, std::uint64_t& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return !text.empty() && ec == std::errc{} && end == text.data() + text.size();
}

}  // namespace

SystemdNotifier::SystemdNotifier() {
  const char* socket_name = std::getenv("NOTIFY_SOCKET");
  if (socket_name && *socket_name) {
    address_ = socket_name;
    if (address_[0] == '@')
      address_[0] = '\0';
    else if (address_[0] != '/')
      throw std::runtime_error(
          fmt::format("NOTIFY_SOCKET '{}' is neither an absolute path nor an abstract name ('@…')", socket_name));
    if (address_.size() > sizeof(sockaddr_un::sun_path))
      throw std::runtime_error(fmt::format("NOTIFY_SOCKET '{}' is longer than a socket address can be", socket_name));
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error(fmt::format("cannot create the notify socket: {}", std::strerror(errno)));
  }
  const char* usec = std::getenv("WATCHDOG_USEC");
  if (usec && *usec) {
    std::uint64_t value = 0;
    if (!parse_number(usec, value) || value == 0)
      throw std::runtime_error(fmt::format("WATCHDOG_USEC '{}' is not a positive number of microseconds", usec));
    // WATCHDOG_PID names the process the watchdog is meant for: a child of
    // the service's main process must not keep it alive.
    std::uint64_t pid = 0;
    const char* pid_text = std::getenv("WATCHDOG_PID");
    const bool ours =
        !pid_text || !*pid_text || (parse_number(pid_text, pid) && pid == static_cast<std::uint64_t>(::getpid()));
    if (ours && active()) watchdog_period_ = std::chrono::microseconds(value / 2);
  }
}

SystemdNotifier::~SystemdNotifier() {
  if (fd_ >= 0) ::close(fd_);
}

void SystemdNotifier::send(const std::string& message) {
  if (fd_ < 0) return;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, address_.data(), address_.size());
  const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address_.size());
  const auto sent =
      ::sendto(fd_, message.data(), message.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&addr), length);
  if (sent < 0 && !failure_reported_) {
    failure_reported_ = true;
    fmt::print(stderr, "streamckpt: cannot notify systemd at NOTIFY_SOCKET: {}\n", std::strerror(errno));
  }
}

}  // namespace streamckpt::cli
