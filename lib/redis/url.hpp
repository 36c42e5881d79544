// The library's name for a parsed Redis URL (the type is public).
#pragma once

#include <streamckpt/redis_url.hpp>

namespace streamckpt::redis {

using Url = RedisUrl;

}  // namespace streamckpt::redis
