#include <streamckpt/build_info.hpp>

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

namespace streamckpt {

BuildInfo build_info() {
  BuildInfo b;
  b.version = STREAMCKPT_VERSION;
  b.rocksdb = fmt::format("{}.{}.{}", ROCKSDB_MAJOR, ROCKSDB_MINOR, ROCKSDB_PATCH);
  b.hiredis = fmt::format("{}.{}.{}", HIREDIS_MAJOR, HIREDIS_MINOR, HIREDIS_PATCH);
  b.boost = fmt::format("{}.{}.{}", BOOST_VERSION / 100000, BOOST_VERSION / 100 % 1000, BOOST_VERSION % 100);
  b.fmt = fmt::format("{}.{}.{}", FMT_VERSION / 10000, FMT_VERSION / 100 % 100, FMT_VERSION % 100);
#ifdef STREAMCKPT_HAVE_TLS
  b.openssl = fmt::format("{} (running {})", OPENSSL_VERSION_STR, OpenSSL_version(OPENSSL_VERSION_STRING));
  b.tls = true;
#endif
  return b;
}

}  // namespace streamckpt
