#include "redis/resp.hpp"

#include <algorithm>

namespace streamckpt::redis {
namespace {

struct CommandDeleter {
  void operator()(char* c) const { redisFreeCommand(c); }
};

// hiredis builds our Value tree directly (no redisReply tree to copy from).
// Elements arrive in order, so a child is appended to its parent's element
// vector; hiredis keeps pointers only to the arrays still being filled (the
// root, allocated on its own, and the last child of each open level), never
// to a finished element, so the vector may grow. An array's header is not
// trusted for its size: "*2000000000" is 13 bytes, so memory is reserved for
// at most k_reserve_elements up front and grows only with elements received.
constexpr std::size_t k_reserve_elements = 1024;

// These run inside hiredis (C): nothing may throw through them. Returning
// nullptr makes hiredis fail the reply, which next() reports as a protocol
// error.
template <class Fill>
void* create(const redisReadTask* task, Fill fill) noexcept {
  try {
    if (!task->parent) {
      auto root = std::make_unique<Value>();  // freed here if fill throws
      fill(*root);
      return root.release();
    }
    // A child belongs to its parent (and so to the root) as soon as it is
    // appended: hiredis frees the root when the reply fails.
    auto* parent = static_cast<Value*>(task->parent->obj);
    if (static_cast<std::size_t>(task->idx) != parent->elements.size()) return nullptr;
    fill(parent->elements.emplace_back());
    return &parent->elements.back();
  } catch (...) {
    return nullptr;
  }
}

void* create_string(const redisReadTask* task, char* str, std::size_t len) {
  return create(task, [&](Value& v) {
    v.type = task->type == REDIS_REPLY_ERROR    ? Value::Type::error
             : task->type == REDIS_REPLY_STATUS ? Value::Type::status
                                                : Value::Type::string;
    v.str.assign(str, len);
  });
}

void* create_array(const redisReadTask* task, int elements) {
  return create(task, [&](Value& v) {
    v.type = Value::Type::array;
    v.elements.reserve(std::min(static_cast<std::size_t>(elements), k_reserve_elements));
  });
}

void* create_integer(const redisReadTask* task, long long value) {
  return create(task, [&](Value& v) {
    v.type = Value::Type::integer;
    v.integer = value;
  });
}

void* create_nil(const redisReadTask* task) {
  return create(task, [](Value& v) { v.type = Value::Type::nil; });
}

// Only roots are freed: children live inside them.
void free_object(void* obj) { delete static_cast<Value*>(obj); }

redisReplyObjectFunctions k_value_functions = {create_string, create_array, create_integer, create_nil, free_object};

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

Decoder::Decoder() : reader_(redisReaderCreateWithFunctions(&k_value_functions)) {
  if (!reader_) throw std::bad_alloc();
  reader_->maxbuf = 0;  // let hiredis keep its buffer instead of shrinking it on every read
}

void Decoder::feed(std::string_view bytes) { redisReaderFeed(reader_.get(), bytes.data(), bytes.size()); }

Result<std::optional<Value>> Decoder::next() {
  void* raw = nullptr;
  if (redisReaderGetReply(reader_.get(), &raw) != REDIS_OK) return errc::protocol_error;
  if (!raw) return std::optional<Value>{};
  std::unique_ptr<Value> reply(static_cast<Value*>(raw));
  return std::optional<Value>{std::move(*reply)};
}

}  // namespace streamckpt::redis
