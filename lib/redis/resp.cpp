#include "redis/resp.hpp"

namespace streamckpt::redis {
namespace {

struct CommandDeleter {
  void operator()(char* c) const { redisFreeCommand(c); }
};

// hiredis builds our Value tree directly (no redisReply tree to copy from):
// a child is constructed in place in its parent's pre-sized element vector,
// so pointers to it stay valid; only the root is allocated on its own.
Value* place(const redisReadTask* task) {
  if (task->parent) {
    auto* parent = static_cast<Value*>(task->parent->obj);
    return &parent->elements[static_cast<std::size_t>(task->idx)];
  }
  return new (std::nothrow) Value;
}

void* create_string(const redisReadTask* task, char* str, std::size_t len) {
  Value* v = place(task);
  if (!v) return nullptr;
  v->type = task->type == REDIS_REPLY_ERROR    ? Value::Type::error
            : task->type == REDIS_REPLY_STATUS ? Value::Type::status
                                               : Value::Type::string;
  v->str.assign(str, len);
  return v;
}

void* create_array(const redisReadTask* task, int elements) {
  Value* v = place(task);
  if (!v) return nullptr;
  v->type = Value::Type::array;
  v->elements.resize(static_cast<std::size_t>(elements));
  return v;
}

void* create_integer(const redisReadTask* task, long long value) {
  Value* v = place(task);
  if (!v) return nullptr;
  v->type = Value::Type::integer;
  v->integer = value;
  return v;
}

void* create_nil(const redisReadTask* task) {
  Value* v = place(task);
  if (!v) return nullptr;
  v->type = Value::Type::nil;
  return v;
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

void Decoder::feed(std::string_view bytes) {
  redisReaderFeed(reader_.get(), bytes.data(), bytes.size());
}

Result<std::optional<Value>> Decoder::next() {
  void* raw = nullptr;
  if (redisReaderGetReply(reader_.get(), &raw) != REDIS_OK) return errc::protocol_error;
  if (!raw) return std::optional<Value>{};
  std::unique_ptr<Value> reply(static_cast<Value*>(raw));
  return std::optional<Value>{std::move(*reply)};
}

}  // namespace streamckpt::redis
