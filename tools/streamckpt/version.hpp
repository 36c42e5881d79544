// streamckpt version (and --version): what was built, with what.
#pragma once

#include <string>
#include <vector>

namespace streamckpt::cli {

// "streamckpt <version>", then one line per dependency ("  rocksdb 7.8.3",
// each the version compiled against; OpenSSL's also the one loaded), the
// compiler, and "features: …".
std::string version_text();

int run_version(const std::vector<std::string>& args);

}  // namespace streamckpt::cli
