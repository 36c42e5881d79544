#include "redis/multiplexer.hpp"

#include <algorithm>

namespace streamckpt::redis {

using boost::system::error_code;

bool says_not_ready(const Value& reply) {
  if (!reply.is_error()) return false;
  const auto prefix = reply.error_prefix();
  return prefix == "LOADING" || prefix == "BUSY" || prefix == "MASTERDOWN" ||
         reply.str.rfind("ERR max number of clients", 0) == 0;
}

bool Multiplexer::drops(const Value& reply) const {
  if (!reply.is_error() || dropping_errors_.empty()) return false;
  const auto prefix = reply.error_prefix();
  return std::find(dropping_errors_.begin(), dropping_errors_.end(), prefix) != dropping_errors_.end();
}

Multiplexer::Id Multiplexer::add(const std::vector<Command>& commands, Clock::time_point deadline) {
  for (const auto& c : commands) encode(output_, c);
  requests_.push_back({next_id_, commands.size(), {}, deadline});
  return next_id_++;
}

std::string Multiplexer::take_output() {
  std::string out;
  out.swap(output_);
  return out;
}

Multiplexer::Read Multiplexer::on_bytes(std::string_view bytes) {
  Read out;
  auto close_with = [&](error_code ec) {
    out.close = ec;
    for (auto& c : fail_all(ec)) out.done.push_back(std::move(c));
  };
  decoder_.feed(bytes);
  for (;;) {
    auto reply = decoder_.next();
    if (!reply) {
      close_with(make_error_code(errc::protocol_error));
      return out;
    }
    if (!*reply) return out;
    if (requests_.empty()) {  // a reply nobody asked for
      close_with(make_error_code(errc::protocol_error));
      return out;
    }
    auto& front = requests_.front();
    if (says_not_ready(**reply) || drops(**reply)) {
      // A single command that got it did not run; of several, the others may
      // have.
      out.not_ready = std::move((**reply).str);
      out.done.push_back(
          {front.id, make_error_code(front.expected == 1 ? errc::redis_not_ready : errc::outcome_unknown), {}});
      requests_.pop_front();
      close_with(make_error_code(errc::outcome_unknown));
      return out;
    }
    front.replies.push_back(std::move(**reply));
    if (front.replies.size() == front.expected) {
      out.done.push_back({front.id, {}, std::move(front.replies)});
      requests_.pop_front();
    }
  }
}

std::optional<Multiplexer::Clock::time_point> Multiplexer::next_deadline() const {
  if (requests_.empty()) return std::nullopt;
  auto earliest = Clock::time_point::max();
  for (const auto& r : requests_) earliest = std::min(earliest, r.deadline);
  return earliest;
}

bool Multiplexer::expired(Clock::time_point now) const {
  const auto d = next_deadline();
  return d && now >= *d;
}

std::vector<Multiplexer::Completion> Multiplexer::fail_all(error_code ec) {
  std::vector<Completion> out;
  out.reserve(requests_.size());
  for (auto& r : requests_) out.push_back({r.id, ec, {}});
  requests_.clear();
  output_.clear();
  decoder_ = Decoder();
  return out;
}

}  // namespace streamckpt::redis
