// streamckpt version and --version: the build's own numbers, as meson found them.
#include "cli.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <sstream>

using namespace streamckpt::test;

namespace {

std::string expected(const char* variable) { return program_path(variable); }

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace

TEST_CASE("version prints the project's version, the dependencies meson found, the compiler and the features") {
  const auto r = run_cli({"version"});
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  const auto lines = lines_of(r.out);
  REQUIRE(lines.size() >= 7);
  CHECK(lines[0] == "streamckpt " + expected("EXPECTED_VERSION"));
  CHECK(lines[1] == "  rocksdb " + expected("EXPECTED_ROCKSDB"));
  CHECK(lines[2] == "  hiredis " + expected("EXPECTED_HIREDIS"));
  CHECK(lines[3] == "  boost " + expected("EXPECTED_BOOST"));
  CHECK(lines[4] == "  fmt " + expected("EXPECTED_FMT"));
  const bool tls = expected("EXPECTED_TLS") == "true";
  std::size_t next = 5;
  if (tls) CHECK(lines[next++].rfind("  openssl 3.", 0) == 0);
  CHECK((lines[next].rfind("  compiler gcc ", 0) == 0 || lines[next].rfind("  compiler clang ", 0) == 0));
  ++next;
  REQUIRE(lines.size() == next + 1);
  CHECK(lines[next] ==
        (tls ? "features: tls (rediss://)" : "features: none (built without TLS: rediss:// is refused)"));

  const auto dashed = run_cli({"--version"});
  CHECK(dashed.exit_code == 0);
  CHECK(dashed.out == r.out);
}

TEST_CASE("version takes no arguments") {
  const auto r = run_cli({"version", "--json"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.rfind("streamckpt: version takes no arguments, not '--json'\n", 0) == 0);
  const auto dashed = run_cli({"--version", "x"});
  CHECK(dashed.exit_code == 2);
  CHECK(dashed.err.rfind("streamckpt: --version takes no arguments, not 'x'\n", 0) == 0);
  const auto help = run_cli({"version", "--help"});
  CHECK(help.exit_code == 0);
  CHECK(help.out.rfind("usage:\n  streamckpt version\n  streamckpt --version\n", 0) == 0);
}
