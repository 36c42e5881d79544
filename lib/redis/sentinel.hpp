// Redis Sentinel (sans-io): what a Sentinel's and a master's replies mean for
// a client that follows failovers. Connection asks the Sentinels of a
// redis+sentinel:// URL, in turn, where the master is
// (SENTINEL get-master-addr-by-name), connects there, and checks with ROLE that
// the server it reached is a master: a Sentinel may answer with an address
// that a failover in progress has just demoted.
#pragma once

#include "redis/resp.hpp"
#include "redis/url.hpp"

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

// The Sentinel at `answered` goes first for the next question, the others
// keep their order: the one that answered is the one most likely to answer
// again.
void prefer(std::vector<Url::Address>& sentinels, std::size_t answered);

}  // namespace streamckpt::redis
