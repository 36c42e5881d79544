#include "version.hpp"

#include "args.hpp"

#include <fmt/format.h>
#include <hiredis/hiredis.h>
#include <rocksdb/version.h>
#include <boost/version.hpp>
#ifdef STREAMCKPT_HAVE_TLS
#include <openssl/crypto.h>
#endif

#ifndef STREAMCKPT_VERSION
#error "STREAMCKPT_VERSION must be defined by the build (meson's project version)"
#endif

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
  std::string out = fmt::format("streamckpt {}\n", STREAMCKPT_VERSION);
  out += fmt::format("  rocksdb {}.{}.{}\n", ROCKSDB_MAJOR, ROCKSDB_MINOR, ROCKSDB_PATCH);
  out += fmt::format("  hiredis {}.{}.{}\n", HIREDIS_MAJOR, HIREDIS_MINOR, HIREDIS_PATCH);
  out += fmt::format("  boost {}.{}.{}\n", BOOST_VERSION / 100000, BOOST_VERSION / 100 % 1000, BOOST_VERSION % 100);
  out += fmt::format("  fmt {}.{}.{}\n", FMT_VERSION / 10000, FMT_VERSION / 100 % 100, FMT_VERSION % 100);
#ifdef STREAMCKPT_HAVE_TLS
  // The library loaded may be newer than the headers: both are worth knowing.
  out += fmt::format("  openssl {} (running {})\n", OPENSSL_VERSION_STR, OpenSSL_version(OPENSSL_VERSION_STRING));
#endif
  out += fmt::format("  compiler {}\n", compiler());
#ifdef STREAMCKPT_HAVE_TLS
  out += "features: tls (rediss://)\n";
#else
  out += "features: none (built without TLS: rediss:// is refused)\n";
#endif
  return out;
}

int run_version(const std::vector<std::string>& args) {
  if (!args.empty()) throw UsageError(fmt::format("version takes no arguments, not '{}'", args[0]));
  fmt::print("{}", version_text());
  return 0;
}

}  // namespace streamckpt::cli
