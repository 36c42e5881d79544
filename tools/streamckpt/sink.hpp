// Where the CLI writes the events it handles: one JSON object per line,
// {"id":"<id>","fields":{"<field>":"<value>",…}}.
#pragma once

#include <streamckpt/consumer.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace streamckpt::cli {

std::string event_json_line(const Event& event);

// Writes all of `bytes` to `fd`, retrying short writes and EINTR. Returns
// "writing to <what> failed: …", or "" on success.
std::string write_all(int fd, std::string_view bytes, std::string_view what);

// Who writes a file sink: the checkpoint's identity, and the data directory
// that holds it (made absolute and canonical once it exists).
struct SinkOwner {
  std::string identity;
  std::string data_dir;
};
// REQUIRES: the data directory exists (the consumer has started).
SinkOwner sink_owner(const ConsumerOptions& options);

// How the consumer resumed, for the sink.
struct SinkStart {
  // What the checkpoint resumed with recorded (ResumeReport::metadata: the
  // newest copy's, "" for nothing); nullopt when no checkpoint exists at all.
  std::optional<std::string> metadata;
  // Copies exist but none is valid: nothing says how much of a file was
  // handled.
  bool unknown = false;
  SinkOwner owner;
  // Where the sink says what it did to the file (a cut); may be empty.
  std::function<void(std::string_view)> log;
};

// What `report` (of a consumer with `options`) tells the sink.
SinkStart sink_start_of(const ResumeReport& report, const ConsumerOptions& options);

class Sink {
 public:
  virtual ~Sink() = default;
  // Takes hold of the output before start-up touches the checkpoint. Returns
  // an error message, or "" on success.
  virtual std::string prepare() { return {}; }
  // Whether the sink can resume as `start` says, changing nothing: called
  // during start-up, once it has decided where to resume and before it
  // changes the group or either copy. Returns an error message, or "".
  virtual std::string check(const SinkStart&) { return {}; }
  // Prepares for resuming (after check()). Returns an error message, or ""
  // on success.
  virtual std::string open(const SinkStart& start) = 0;
  // Appends the event's line (buffered). `metadata` receives what to store
  // with this event's ack (nullopt: nothing). Returns an error message or "".
  virtual std::string write(const Event& event, std::optional<std::string>& metadata) = 0;
  // Pushes buffered lines out; call it before acking them. Returns an error
  // message or "".
  virtual std::string flush() = 0;
  // After a failed flush(): whether calling it again may succeed (a full or
  // read-only disk, an I/O error). The lines are kept for it, and nothing of
  // them counts as written.
  virtual bool can_retry() const { return false; }
};

// "stdout" or "file:PATH"; nullptr for anything else.
std::unique_ptr<Sink> make_sink(const std::string& spec);

}  // namespace streamckpt::cli
