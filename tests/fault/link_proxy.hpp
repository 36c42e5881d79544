// LinkProxy: a TCP proxy between a consumer and redis-server that injects
// link faults. It listens on a free loopback port and forwards every
// connection to 127.0.0.1:<target port>.
//
// It runs its own io_context on its own thread. Every public member may be
// called from any other thread (never from a proxy handler): it runs on the
// proxy's thread and returns once it took effect.
//
// Faults (see link_faults.hpp) are set per direction and apply to the open
// connections and to new ones; reset() and down() act at once; clear()
// returns to a clean link that accepts connections again. Randomness (jitter,
// slice sizes) comes from one generator seeded by the constructor.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "link_faults.hpp"

namespace streamckpt::test {

class LinkProxy {
 public:
  explicit LinkProxy(int target_port, std::uint64_t seed = 1);
  ~LinkProxy();
  LinkProxy(const LinkProxy&) = delete;
  LinkProxy& operator=(const LinkProxy&) = delete;

  int port() const { return port_; }
  // redis://127.0.0.1:<port>
  std::string url() const;

  // Replaces the faults of one direction, or of both.
  void set(Direction direction, const DirectionFaults& faults);
  void set_both(const DirectionFaults& faults);

  // Closes every open connection abruptly: both sides get a RST (SO_LINGER
  // 0). With a direction, only the receiving end of that direction gets the
  // RST and the other end an orderly close (FIN). New connections are
  // accepted as before.
  void reset();
  void reset(Direction toward_receiver_of);

  // New connections are refused or reset until clear(); the open ones are
  // reset too, unless drop_open is false (then they keep working).
  void down(DownMode mode = DownMode::refuse, bool drop_open = true);

  // One connection, by its accept number (from 1): reset both of its sides.
  // False when it is not open.
  bool reset_connection(std::uint64_t id);
  // The accept numbers of the open connections, and of those whose client
  // sent `needle` (in its first 64 KiB), to tell a consumer's connections
  // apart by what they carry.
  std::vector<std::uint64_t> open_connection_ids() const;
  std::vector<std::uint64_t> connections_that_sent(const std::string& needle) const;

  // No faults, and up: new connections are forwarded cleanly. Connections
  // that are still open stay open (a black hole stays one, see
  // DirectionFaults::blackhole).
  void clear();

  // Connections accepted and forwarded (not those turned away while down).
  std::uint64_t accepted() const;
  // Connections turned away while down.
  std::uint64_t turned_away() const;
  // Connections closed by reset(), down() or a data limit.
  std::uint64_t cut() const;
  // Connections open now.
  std::size_t open_connections() const;
  // Bytes forwarded in one direction, over all connections.
  std::uint64_t forwarded(Direction direction) const;
  // Bytes swallowed by black holes in one direction.
  std::uint64_t swallowed(Direction direction) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
  int port_ = 0;
};

}  // namespace streamckpt::test
