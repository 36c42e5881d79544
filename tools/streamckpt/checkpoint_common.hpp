// What the checkpoint subcommands share: the identity they name, where its
// copies are, and how a copy prints.
#pragma once

#include "args.hpp"

#include <streamckpt/admin.hpp>
#include <streamckpt/checkpoint.hpp>

#include <filesystem>
#include <string>

namespace streamckpt::cli {

// --stream, --group (optional) and --consumer.
CheckpointKey parse_key(const Args& args);
// --data-dir and --redis with its credentials (redis_auth.hpp).
admin::Place parse_place(const Args& args);
std::string copy_json(const CheckpointCopy& c);
std::string copy_text(const CheckpointCopy& c);

// What the local store holds for `key`, read afresh, as a phrase: "local
// checkpoint ID", "no local checkpoint", or why it is unknown or invalid.
std::string local_checkpoint_text(const std::filesystem::path& dir, const CheckpointKey& key);

}  // namespace streamckpt::cli
