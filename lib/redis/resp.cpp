#include "redis/resp.hpp"

namespace streamckpt::redis {
namespace {

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
struct CommandDeleter {
  void operator()(char* c) const { redisFreeCommand(c); }
};

Value convert(const redisReply& r) {
  Value v;
  switch (r.type) {
    case REDIS_REPLY_STRING: v.type = Value::Type::string; v.str.assign(r.str, r.len); break;
    case REDIS_REPLY_STATUS: v.type = Value::Type::status; v.str.assign(r.str, r.len); break;
    case REDIS_REPLY_ERROR: v.type = Value::Type::error; v.str.assign(r.str, r.len); break;
    case REDIS_REPLY_INTEGER: v.type = Value::Type::integer; v.integer = r.integer; break;
    case REDIS_REPLY_ARRAY:
      v.type = Value::Type::array;
      v.elements.reserve(r.elements);
      for (std::size_t i = 0; i < r.elements; ++i) v.elements.push_back(convert(*r.element[i]));
      break;
    default: v.type = Value::Type::nil; break;
  }
  return v;
}

}  // namespace

std::string_view Value::error_prefix() const {
  if (type != Type::error) return {};
  const std::string_view s = str;
  return s.substr(0, s.find(' '));
}

void encode(std::string& out, const Command& args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  char* raw = nullptr;
  const int n = redisFormatCommandArgv(&raw, static_cast<int>(args.size()), argv.data(), lens.data());
  std::unique_ptr<char, CommandDeleter> cmd(raw);
  if (n < 0 || !cmd) throw std::bad_alloc();
  out.append(cmd.get(), static_cast<std::size_t>(n));
}

Decoder::Decoder() : reader_(redisReaderCreate()) {
  if (!reader_) throw std::bad_alloc();
  reader_->maxbuf = 0;  // let hiredis keep its buffer instead of shrinking it on every read
}

void Decoder::feed(std::string_view bytes) {
  redisReaderFeed(reader_.get(), bytes.data(), bytes.size());
}

Result<std::optional<Value>> Decoder::next() {
  void* raw = nullptr;
  if (redisReaderGetReply(reader_.get(), &raw) != REDIS_OK) return errc::protocol_error;
  if (!raw) return std::optional<Value>{};
  std::unique_ptr<redisReply, ReplyDeleter> reply(static_cast<redisReply*>(raw));
  return std::optional<Value>{convert(*reply)};
}

}  // namespace streamckpt::redis
