// The results as a table (stdout) and as JSON (--json FILE).
#pragma once

#include "results.hpp"

#include <cstdio>
#include <string>

namespace streamckpt::bench {

void print_table(std::FILE* out, const BenchResults& r);
// Throws std::runtime_error when the file cannot be written.
void write_json(const std::string& path, const BenchResults& r);

}  // namespace streamckpt::bench
