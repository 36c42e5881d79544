// Redis Sentinel (sans-io): what a Sentinel's and a master's replies mean for
// a client that follows failovers. Connection asks the Sentinels of a
// redis+sentinel:// URL, in turn, where the master is
// (SENTINEL get-master-addr-by-name), connects there, and checks with ROLE that
// the server it reached is a master: a Sentinel may answer with an address
// that a failover in progress has just demoted. While connected it listens
// to that Sentinel's `+switch-master` messages: a failover the old master
// does not take part in (it is cut off, or still up until the Sentinels
// reconfigure it) drops the link at once rather than at the next error.
#pragma once

#include "redis/resp.hpp"
#include "redis/url.hpp"

#include <optional>
#include <string>
#include <vector>

namespace streamckpt::redis {

Command ask_master_command(const std::string& master);

// The address in a reply to ask_master_command(), or, with `why` set, why
// there is none: the Sentinel does not know the master (nil), refused, or
// answered something else.
[[nodiscard]] Result<Url::Address> master_address(const Value& reply, const std::string& master, std::string* why);

// The role a reply to ROLE names ("master", "slave", "sentinel"), or "" for
// a reply that is not one.
std::string role_of(const Value& reply);

// What the watch of a master's switches subscribes to.
inline constexpr const char* k_switch_channel = "+switch-master";

// The new address a `+switch-master` message gives for `master`: nullopt for
// a message about another master, or for a reply that is not such a message
// (the subscription's confirmation). The message's text is
// "<master> <old ip> <old port> <new ip> <new port>".
std::optional<Url::Address> switched_master(const Value& push, const std::string& master);

// The Sentinel at `answered` goes first for the next question, the others
// keep their order: the one that answered is the one most likely to answer
// again.
void prefer(std::vector<Url::Address>& hosts, std::size_t answered);

}  // namespace streamckpt::redis
