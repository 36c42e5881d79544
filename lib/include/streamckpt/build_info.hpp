// What this library was built with: its version, the versions of its
// dependencies' headers, and whether it speaks TLS. For `version` output and
// bug reports.
#pragma once

#include <string>

namespace streamckpt {

struct BuildInfo {
  std::string version{};  // the library's own (meson's project version)
  std::string rocksdb{}, hiredis{}, boost{}, fmt{};
  // OpenSSL's headers and the library loaded, which may be newer: "3.0.17
  // (running 3.0.17)"; empty when built without TLS (rediss:// refused).
  std::string openssl{};
  bool tls = false;
};

BuildInfo build_info();

}  // namespace streamckpt
