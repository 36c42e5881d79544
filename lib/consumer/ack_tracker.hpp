// AckTracker (sans-io): the low watermark over delivered events.
//
// Events are delivered in increasing ID order and may be acked in any order.
// The checkpoint may only cover the contiguous prefix of delivered events that
// are all acked: an event acked early waits for its predecessors.
#pragma once

#include <streamckpt/stream_id.hpp>

#include <rocksdb/write_batch.h>

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace streamckpt::detail {

class AckTracker {
 public:
  enum class AckResult { accepted, unknown, duplicate };

  // What the watermark moved over since the last take_advance().
  struct Advance {
    StreamId to;                                                      // the new watermark
    std::vector<StreamId> ids;                                        // every event covered, in order
    std::vector<std::shared_ptr<const rocksdb::WriteBatch>> effects;  // in event order
    std::optional<std::string> metadata;                              // of the highest covered event that carries some
  };

  // REQUIRES: id is greater than every ID delivered before.
  void deliver(StreamId id);
  AckResult ack(StreamId id, std::shared_ptr<const rocksdb::WriteBatch> effects = nullptr,
                std::optional<std::string> metadata = std::nullopt);
  // Pops the acked prefix; nullopt when the watermark did not move.
  std::optional<Advance> take_advance();

  // Delivered and not yet covered by the watermark.
  std::size_t outstanding() const { return slots_.size(); }
  // The highest ID ever delivered, or nullopt.
  std::optional<StreamId> last_delivered() const { return last_delivered_; }
  bool was_delivered_outstanding(StreamId id) const;

 private:
  struct Slot {
    StreamId id;
    bool acked = false;
    std::shared_ptr<const rocksdb::WriteBatch> effects;
    std::optional<std::string> metadata;
  };
  std::deque<Slot> slots_;
  std::optional<StreamId> last_delivered_;
};

}  // namespace streamckpt::detail
