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

// "stdout" or "file:PATH"; nullptr for anything else.
std::unique_ptr<Sink> make_sink(const std::string& spec);

}  // namespace streamckpt::cli
