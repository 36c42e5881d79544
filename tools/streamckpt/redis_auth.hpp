// The Redis credentials of every command that talks to Redis: --redis, and
// the user and password from --redis-user, --redis-password-file or the
// environment, so that no secret has to appear on the command line.
#pragma once

#include "args.hpp"

#include <set>
#include <string>

namespace streamckpt::cli {

// The options every Redis command takes besides --redis.
inline const std::set<std::string> k_redis_auth_options = {"redis-user", "redis-password-file"};

// The URL to connect with: `url_text` (--redis) with the user and the
// password put in it, from, in order: the URL itself, --redis-user and
// --redis-password-file, then STREAMCKPT_REDIS_USER and
// STREAMCKPT_REDIS_PASSWORD. Prints a warning on stderr when the URL itself
// holds a password (other users of the host can read the command line), or
// the password file is readable by others. Throws UsageError when two options
// give the same thing, or for a password source on a unix:// URL;
// std::runtime_error for a password file that cannot be read or is empty, or
// an empty variable. The returned URL is a secret: never print it
// (redis::Url::redact()).
std::string redis_url_with_credentials(const Args& args, const std::string& url_text);

}  // namespace streamckpt::cli
