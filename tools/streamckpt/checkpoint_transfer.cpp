// streamckpt checkpoint export / import: one consumer's checkpoint as JSON,
// to move the consumer to another host.
#include "checkpoint_commands.hpp"
#include "checkpoint_common.hpp"
#include "checkpoint_write.hpp"
#include "commands.hpp"
#include "json.hpp"
#include "redis_auth.hpp"

#include <fmt/format.h>

#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

namespace streamckpt::cli {
namespace {

constexpr std::string_view k_format = "streamckpt-checkpoint-1";

// A flat JSON object whose values are strings, non-negative integers or null:
// what export writes. Throws std::runtime_error saying what is wrong.
class FlatJson {
 public:
  explicit FlatJson(std::string_view text) : text_(text) {
    space();
    take('{');
    space();
    if (peek() == '}') {
      ++pos_;
    } else {
      for (;;) {
        space();
        auto name = string();
        space();
        take(':');
        space();
        values_[std::move(name)] = value();
        space();
        if (peek() == ',') {
          ++pos_;
          continue;
        }
        take('}');
        break;
      }
    }
    space();
    if (pos_ != text_.size()) fail("text after the object");
  }

  // nullopt: absent or null.
  std::optional<std::string> text(const std::string& name) const {
    const auto it = values_.find(name);
    if (it == values_.end() || !it->second) return std::nullopt;
    if (it->second->first != Kind::string) throw std::runtime_error(fmt::format("\"{}\" is not a string", name));
    return it->second->second;
  }
  std::string required_text(const std::string& name) const {
    auto t = text(name);
    if (!t) throw std::runtime_error(fmt::format("\"{}\" is missing", name));
    return *t;
  }
  std::uint64_t number(const std::string& name) const {
    const auto it = values_.find(name);
    if (it == values_.end() || !it->second) throw std::runtime_error(fmt::format("\"{}\" is missing", name));
    if (it->second->first != Kind::number) throw std::runtime_error(fmt::format("\"{}\" is not a whole number", name));
    std::uint64_t v = 0;
    for (const char c : it->second->second) {
      if (v > (UINT64_MAX - static_cast<unsigned>(c - '0')) / 10)
        throw std::runtime_error(fmt::format("\"{}\" is too large", name));
      v = v * 10 + static_cast<unsigned>(c - '0');
    }
    return v;
  }

 private:
  enum class Kind { string, number };
  using Value = std::optional<std::pair<Kind, std::string>>;

  [[noreturn]] void fail(const char* what) const {
    throw std::runtime_error(fmt::format("not the JSON of checkpoint export: {} at byte {}", what, pos_));
  }
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  void take(char c) {
    if (peek() != c) fail(fmt::format("expected '{}'", c).c_str());
    ++pos_;
  }
  void space() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\n' || text_[pos_] == '\t' || text_[pos_] == '\r'))
      ++pos_;
  }
  unsigned hex4() {
    if (pos_ + 4 > text_.size()) fail("a short \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= static_cast<unsigned>(c - 'A' + 10);
      else
        fail("a bad \\u escape");
    }
    return v;
  }
  static void utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }
  std::string string() {
    take('"');
    std::string out;
    for (;;) {
      if (pos_ >= text_.size()) fail("an unterminated string");
      const char c = text_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail("a control character in a string");
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      const char e = text_[pos_ < text_.size() ? pos_++ : (fail("an unterminated escape"), 0)];
      switch (e) {
        case '"':
          out.push_back('"');
          break;
        case '\\':
          out.push_back('\\');
          break;
        case '/':
          out.push_back('/');
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'u': {
          unsigned cp = hex4();
          if (cp >= 0xDC80 && cp <= 0xDCFF) {
            out.push_back(static_cast<char>(cp - 0xDC00));  // a byte json_string() escaped
            break;
          }
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (pos_ + 2 > text_.size() || text_[pos_] != '\\' || text_[pos_ + 1] != 'u') fail("a lone surrogate");
            pos_ += 2;
            const unsigned low = hex4();
            if (low < 0xDC00 || low > 0xDFFF) fail("a lone surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            fail("a lone surrogate");
          }
          utf8(out, cp);
          break;
        }
        default:
          fail("a bad escape");
      }
    }
  }
  Value value() {
    if (peek() == '"') return std::make_pair(Kind::string, string());
    if (text_.substr(pos_, 4) == "null") {
      pos_ += 4;
      return std::nullopt;
    }
    const auto start = pos_;
    while (peek() >= '0' && peek() <= '9') ++pos_;
    if (pos_ == start) fail("a value that is not a string, a whole number or null");
    return std::make_pair(Kind::number, std::string(text_.substr(start, pos_ - start)));
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  std::map<std::string, Value> values_;
};

}  // namespace

int checkpoint_export(const std::vector<std::string>& argv) {
  const Args args(argv, {"data-dir", "stream", "group", "consumer"}, {});
  const auto key = parse_key(args);
  const std::filesystem::path dir = args.required("data-dir");
  const auto found = admin::inspect({dir, {}}, key);
  if (!found) return fail(found.error().detail);
  const auto& copy = found->local;
  if (copy.state == CheckpointCopy::State::absent)
    return fail(fmt::format("{} holds no checkpoint of {}", dir.string(), key.describe()));
  if (!copy.valid())
    return fail(
        fmt::format("the local checkpoint of {} is invalid ({}); nothing to export", key.describe(), copy.reason));
  const auto& c = *copy.checkpoint;
  fmt::print(
      R"({{"format":"{}","stream":{},"group":{},"consumer":{},"id":"{}","epoch":{},"updated_ms":{},"entries_seen":{},"metadata":{}}})"
      "\n",
      k_format, json_string(key.stream), key.group.empty() ? "null" : json_string(key.group), json_string(key.consumer),
      c.id.to_string(), c.epoch, c.updated_ms, c.entries_seen, json_string(c.metadata));
  return 0;
}

int checkpoint_import(const std::vector<std::string>& argv) {
  auto valued = k_redis_auth_options;
  valued.insert({"data-dir", "redis", "file"});
  const Args args(argv, valued, {"force", "dry-run"});
  const auto file = args.required("file");
  args.required("data-dir");
  std::string text;
  if (file == "-") {
    std::stringstream s;
    s << std::cin.rdbuf();
    text = s.str();
  } else {
    std::ifstream in(file, std::ios::binary);
    if (!in) return fail(fmt::format("cannot read {}: {}", file, std::strerror(errno)));
    std::stringstream s;
    s << in.rdbuf();
    text = s.str();
  }
  CheckpointKey key;
  Checkpoint imported;
  try {
    const FlatJson json(text);
    if (json.text("format") != std::string(k_format))
      throw std::runtime_error(fmt::format("\"format\" is not \"{}\"", k_format));
    key.stream = json.required_text("stream");
    key.group = json.text("group").value_or("");
    key.consumer = json.required_text("consumer");
    const auto id_text = json.required_text("id");
    const auto id = StreamId::parse(id_text);
    if (!id) throw std::runtime_error(fmt::format("\"id\" '{}' is not a stream ID", id_text));
    imported.id = *id;
    imported.epoch = json.number("epoch");
    imported.updated_ms = json.number("updated_ms");
    imported.entries_seen = json.number("entries_seen");
    imported.metadata = json.text("metadata").value_or("");
  } catch (const std::runtime_error& e) {
    return fail(fmt::format("{}: {}", file == "-" ? "standard input" : file, e.what()));
  }
  if (key.validate() || (!key.group.empty() && key.group.size() > CheckpointKey::k_max_name_bytes))
    return fail(
        fmt::format("{}: the stream and consumer must be 1 to {} bytes", file, CheckpointKey::k_max_name_bytes));
  if (imported.metadata.size() > Checkpoint::k_max_metadata_bytes)
    return fail(fmt::format("{}: \"metadata\" is over {} bytes", file, Checkpoint::k_max_metadata_bytes));
  imported.key = key;

  admin::SetRequest request;
  request.id = imported.id;
  request.imported = imported;
  return set_checkpoint(args, key, std::move(request));
}

}  // namespace streamckpt::cli
