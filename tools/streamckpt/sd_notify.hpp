// The systemd notify protocol, without libsystemd: one datagram per message
// to the AF_UNIX socket named by $NOTIFY_SOCKET (a path, or an abstract name
// written with a leading '@'). Without the variable, nothing is sent.
#pragma once

#include <chrono>
#include <string>

namespace streamckpt::cli {

class SystemdNotifier {
 public:
  // Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID. Throws
  // std::runtime_error for a NOTIFY_SOCKET that is no socket address, or a
  // WATCHDOG_USEC that is no number: a unit that asks for notifications
  // would otherwise wait for them in vain.
  SystemdNotifier();
  ~SystemdNotifier();
  SystemdNotifier(const SystemdNotifier&) = delete;
  SystemdNotifier& operator=(const SystemdNotifier&) = delete;

  bool active() const { return fd_ >= 0; }
  // Sends `message` ("READY=1\nSTATUS=…") as one datagram. A failure is said
  // once on stderr and is not fatal: consuming matters more than telling.
  void send(const std::string& message);
  // How often to send WATCHDOG=1: half of WATCHDOG_USEC when it is set for
  // this process (WATCHDOG_PID unset or ours); zero otherwise.
  std::chrono::microseconds watchdog_period() const { return watchdog_period_; }

 private:
  int fd_ = -1;
  std::string address_;  // sockaddr_un's sun_path bytes, a leading NUL for an abstract name
  std::chrono::microseconds watchdog_period_{0};
  bool failure_reported_ = false;
};

}  // namespace streamckpt::cli
