// Where the CLI writes the events it handles: one JSON object per line,
// {"id":"<id>","fields":{"<field>":"<value>",…}}.
#pragma once

#include <streamckpt/consumer.hpp>

#include <memory>
#include <optional>
#include <string>

namespace streamckpt::cli {

std::string event_json_line(const Event& event);

class Sink {
 public:
  virtual ~Sink() = default;
  // Prepares for resuming; `metadata` is what the resumed checkpoint
  // recorded ("" for nothing), nullopt when no checkpoint exists at all.
  // Returns an error message, or "" on success.
  virtual std::string open(const std::optional<std::string>& metadata) = 0;
  // Appends the event's line (buffered). `metadata` receives what to store
  // with this event's ack (nullopt: nothing). Returns an error message or "".
  virtual std::string write(const Event& event, std::optional<std::string>& metadata) = 0;
  // Pushes buffered lines out; call it before acking them. Returns an error
  // message or "".
  virtual std::string flush() = 0;
};

// "stdout" or "file:PATH"; nullptr for anything else. `owner` names the
// consumer and its data directory (sink_owner()): a file sink marks its file
// with it, so that a start without any checkpoint can tell its own file,
// left by a first run that crashed before its first commit, from a file that
// is not its output.
std::unique_ptr<Sink> make_sink(const std::string& spec, const std::string& owner = {});

// The owner of a file sink: the checkpoint's identity and the data
// directory's absolute path.
std::string sink_owner(const ConsumerOptions& options);

}  // namespace streamckpt::cli
