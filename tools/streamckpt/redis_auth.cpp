#include "redis_auth.hpp"

#include <streamckpt/redis_url.hpp>

#include <fmt/format.h>

#include <sys/stat.h>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>

namespace streamckpt::cli {
namespace {

constexpr const char* k_user_variable = "STREAMCKPT_REDIS_USER";
constexpr const char* k_password_variable = "STREAMCKPT_REDIS_PASSWORD";

// The file's one line, without its line end. The contents never appear in a
// message.
std::string read_password_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw std::runtime_error(fmt::format("cannot read password file {}: {}", path, std::strerror(errno)));
  if (!S_ISREG(st.st_mode)) throw std::runtime_error(fmt::format("password file {} is not a regular file", path));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(fmt::format("cannot read password file {}: {}", path, std::strerror(errno)));
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();
  if (!text.empty() && text.back() == '\n') text.pop_back();
  if (!text.empty() && text.back() == '\r') text.pop_back();
  if (text.empty()) throw std::runtime_error(fmt::format("password file {} is empty", path));
  if (text.find('\n') != std::string::npos)
    throw std::runtime_error(fmt::format("password file {} holds more than one line", path));
  if (st.st_mode & (S_IRWXG | S_IRWXO))
    fmt::print(stderr, "streamckpt: warning: password file {} can be read by other users (mode {:04o}); chmod 600 it\n",
               path, st.st_mode & 07777);
  return text;
}

std::optional<std::string> variable(const char* name) {
  const char* value = std::getenv(name);
  if (!value) return std::nullopt;
  if (!*value) throw std::runtime_error(fmt::format("{} is set but empty", name));
  return std::string(value);
}

}  // namespace

std::string redis_url_with_credentials(const Args& args, const std::string& url_text) {
  auto url = RedisUrl::parse(url_text);
  // A malformed URL is left for the command to report, as it always did.
  if (!url) return url_text;
  const auto user_option = args.optional("redis-user");
  const auto file_option = args.optional("redis-password-file");
  if (user_option && user_option->empty()) throw UsageError("--redis-user must not be empty");
  if (file_option && file_option->empty()) throw UsageError("--redis-password-file must not be empty");
  if (!url->password.empty()) {
    if (file_option) throw UsageError("--redis holds a password and --redis-password-file gives one: give it once");
    fmt::print(stderr,
               "streamckpt: warning: the password in --redis can be read by every user of this host (ps, "
               "/proc/PID/cmdline); give it with --redis-password-file FILE or {} instead\n",
               k_password_variable);
  }
  if (!url->user.empty() && user_option)
    throw UsageError("--redis holds a user and --redis-user gives one: give it once");

  std::optional<std::string> user = url->user.empty() ? user_option : url->user;
  std::optional<std::string> password;
  if (!url->password.empty())
    password = url->password;
  else if (file_option)
    password = read_password_file(*file_option);
  else
    password = variable(k_password_variable);
  if (!user) user = variable(k_user_variable);

  const bool adds = (password && url->password.empty()) || (user && url->user.empty());
  if (!adds) return url_text;
  if (url->scheme == RedisUrl::Scheme::unix_socket)
    throw UsageError(fmt::format(
        "a unix:// URL carries no user or password: connect over redis:// or rediss:// to use --redis-user, "
        "--redis-password-file, {} or {}",
        k_user_variable, k_password_variable));
  // A user without a password sends no AUTH: Redis would take the
  // connection as the default user.
  if (!password)
    throw UsageError(
        fmt::format("a Redis user needs a password: give it with --redis-password-file or {}", k_password_variable));
  url->user = user.value_or("");
  url->password = *password;
  return url->text();
}

}  // namespace streamckpt::cli
