// The disk's own latency: append 4 KiB to a file and fdatasync it, as a
// write-ahead log does, `iterations` times, in the data directory.
#pragma once

#include <filesystem>
#include <vector>

namespace streamckpt::bench {

// Microseconds per write + fdatasync. Throws std::runtime_error.
std::vector<double> probe_fdatasync(const std::filesystem::path& dir, int iterations = 300);

}  // namespace streamckpt::bench
