// Fuzz target: Redis URL parsing.
#include "fuzz_check.hpp"

#include "redis/url.hpp"

#include <cstdint>
#include <string>
#include <string_view>

using streamckpt::redis::Url;

namespace {

bool same_endpoint(const Url& a, const Url& b) {
  return a.scheme == b.scheme && a.host == b.host && a.port == b.port && a.path == b.path && a.db == b.db &&
         a.hosts == b.hosts && a.master == b.master;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string why;
  const auto url = Url::parse(text, &why);
  FUZZ_CHECK(url.has_value() == Url::parse(text).has_value());
  if (!url) {
    FUZZ_CHECK(!why.empty());
    return 0;
  }

  switch (url->scheme) {
    case Url::Scheme::tcp:
    case Url::Scheme::tls:
      FUZZ_CHECK(text.starts_with(url->scheme == Url::Scheme::tls ? "rediss://" : "redis://"));
      FUZZ_CHECK(!url->host.empty());
      FUZZ_CHECK(url->host.find_first_of(" \t/?#@[]") == std::string::npos);
      FUZZ_CHECK(url->port >= 1);
      FUZZ_CHECK(url->path.empty());
      break;
    case Url::Scheme::unix_socket:
      FUZZ_CHECK(text.starts_with("unix://"));
      FUZZ_CHECK(url->host.empty());
      FUZZ_CHECK(url->path.starts_with('/'));
      FUZZ_CHECK(url->path.find('?') == std::string::npos);
      break;
    case Url::Scheme::sentinel:
      FUZZ_CHECK(text.starts_with("redis+sentinel://"));
      FUZZ_CHECK(!url->hosts.empty());
      for (const auto& s : url->hosts) {
        FUZZ_CHECK(!s.host.empty());
        FUZZ_CHECK(s.host.find_first_of(" \t/?#@[],") == std::string::npos);
        FUZZ_CHECK(s.port >= 1);
      }
      FUZZ_CHECK(!url->master.empty());
      FUZZ_CHECK(url->master.find('/') == std::string::npos);
      break;
    case Url::Scheme::cluster:
      FUZZ_CHECK(text.starts_with("redis+cluster://"));
      FUZZ_CHECK(!url->hosts.empty());
      for (const auto& s : url->hosts) {
        FUZZ_CHECK(!s.host.empty());
        FUZZ_CHECK(s.port >= 1);
      }
      FUZZ_CHECK(url->master.empty() && url->db == 0);
      break;
  }
  if (url->scheme != Url::Scheme::sentinel && url->scheme != Url::Scheme::cluster)
    FUZZ_CHECK(url->hosts.empty() && url->master.empty());
  // Credentials come only from the userinfo, which ends at an '@'.
  if (!url->user.empty() || !url->password.empty()) FUZZ_CHECK(text.find('@') != std::string_view::npos);

  // The logged form names the same server. It is for people, not for
  // parsing: the user name is printed as it is, not percent-encoded, so a
  // user with one of ":/@%" does not read back.
  const auto redacted = url->redacted();
  if (url->user.find_first_of(":/@%") == std::string::npos) {
    const auto again = Url::parse(redacted);
    FUZZ_CHECK(again.has_value());
    FUZZ_CHECK(same_endpoint(*again, *url));
    FUZZ_CHECK(url->password.empty() || again->password == "***");
  }
  // The full form reads back as the same URL, credentials included (a user
  // without a password has no full form: it would read back as a password).
  if (!url->password.empty() || url->user.empty()) {
    const auto again = Url::parse(url->text());
    FUZZ_CHECK(again.has_value());
    FUZZ_CHECK(same_endpoint(*again, *url));
    FUZZ_CHECK(again->user == url->user && again->password == url->password);
  }
  return 0;
}
