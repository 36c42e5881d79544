// Direct access to a data directory's raw checkpoint records, to corrupt
// them the way a bad disk would. REQUIRES: no process holds the directory.
#pragma once

#include <streamckpt/checkpoint.hpp>

#include <filesystem>
#include <string>

namespace streamckpt::test {

std::string read_raw_record(const std::filesystem::path& dir, const CheckpointKey& key);
void write_raw_record(const std::filesystem::path& dir, const CheckpointKey& key, const std::string& value);
// Flips one bit in the middle of the stored record.
void flip_bit_in_record(const std::filesystem::path& dir, const CheckpointKey& key);

}  // namespace streamckpt::test
