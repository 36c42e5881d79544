#include "sink.hpp"

#include "file_sink.hpp"
#include "json.hpp"

#include <fmt/format.h>

#include <unistd.h>
#include <cerrno>
#include <cstring>

namespace streamckpt::cli {

std::string event_json_line(const Event& event) {
  std::string line = R"({"id":")" + event.id.to_string() + R"(","fields":{)";
  bool first = true;
  for (const auto& [name, value] : event.fields) {
    if (!first) line.push_back(',');
    first = false;
    line += json_string(name);
    line.push_back(':');
    line += json_string(value);
  }
  line += "}}\n";
  return line;
}

std::string write_all(int fd, std::string_view bytes, std::string_view what) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const auto n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fmt::format("writing to {} failed: {}", what, std::strerror(errno));
    done += static_cast<std::size_t>(n);
  }
  return {};
}

namespace {

// Lines go to stdout and are flushed before their acks: a line is out of the
// process before its checkpoint can cover it.
class StdoutSink final : public Sink {
 public:
  std::string open(const SinkStart&) override { return {}; }
  std::string write(const Event& event, std::optional<std::string>& metadata) override {
    buffer_ += event_json_line(event);
    metadata.reset();
    return {};
  }
  std::string flush() override {
    auto error = write_all(STDOUT_FILENO, buffer_, "stdout");
    buffer_.clear();
    return error;
  }

 private:
  std::string buffer_;
};

}  // namespace

std::unique_ptr<Sink> make_sink(const std::string& spec) {
  if (spec == "stdout") return std::make_unique<StdoutSink>();
  if (spec.rfind("file:", 0) == 0 && spec.size() > 5) return make_file_sink(spec.substr(5));
  return nullptr;
}

}  // namespace streamckpt::cli
