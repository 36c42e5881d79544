#include "version.hpp"

#include "args.hpp"

#include <streamckpt/build_info.hpp>

#include <fmt/format.h>

namespace streamckpt::cli {
namespace {

std::string compiler() {
#if defined(__clang__)
  return fmt::format("clang {}.{}.{}", __clang_major__, __clang_minor__, __clang_patchlevel__);
#elif defined(__GNUC__)
  return fmt::format("gcc {}.{}.{}", __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__);
#else
  return "unknown";
#endif
}

}  // namespace

std::string version_text() {
  const auto b = build_info();
  std::string out = fmt::format("streamckpt {}\n", b.version);
  out += fmt::format("  rocksdb {}\n  hiredis {}\n  boost {}\n  fmt {}\n", b.rocksdb, b.hiredis, b.boost, b.fmt);
  if (b.tls) out += fmt::format("  openssl {}\n", b.openssl);
  out += fmt::format("  compiler {}\n", compiler());
  out += b.tls ? "features: tls (rediss://)\n" : "features: none (built without TLS: rediss:// is refused)\n";
  return out;
}

int run_version(const std::vector<std::string>& args) {
  if (!args.empty()) throw UsageError(fmt::format("version takes no arguments, not '{}'", args[0]));
  fmt::print("{}", version_text());
  return 0;
}

}  // namespace streamckpt::cli
