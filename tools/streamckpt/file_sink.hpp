// The file sink: `--sink file:PATH`, exactly once across crashes.
#pragma once

#include "sink.hpp"

#include <memory>
#include <string>

namespace streamckpt::cli {

std::unique_ptr<Sink> make_file_sink(std::string path);

}  // namespace streamckpt::cli
