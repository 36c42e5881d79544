// PendingLedger (sans-io, group mode): what this consumer knows of the entries
// in its pending list, and so what an entry given to it again means.
//
// An entry of the pending list is only XACKed when it is known handled:
// durable with its XACK not confirmed, in the list the last run committed
// (until the first replay is over), refused by Redis, or XACKed recently in
// this run (a Redis restarted from an older snapshot gives those back).
// Anything else there was never handled by this consumer, whatever its ID
// (claimed from another member, or delivered before a crash): it is handed
// out. Every commit writes list() beside the checkpoint.
#pragma once

#include <streamckpt/stream_id.hpp>

#include <cstddef>
#include <set>
#include <vector>

namespace streamckpt::detail {

class PendingLedger {
 public:
  // Durable entries whose XACK Redis refused (an ACL) are kept for the next
  // start up to this many; beyond it the oldest are handed out again there
  // (duplicates, not losses).
  static constexpr std::size_t k_max_refused = 4096;
  // XACKs Redis confirmed, the latest this many remembered for this run (16
  // bytes each: a process may run hundreds of consumers).
  static constexpr std::size_t k_recent_xacks = 4096;

  // What an entry given again means.
  enum class Again {
    xack,      // handled and durable: only its XACK was lost (or Redis lost it)
    hand_out,  // never handled here: deliver it again
    in_flight  // handled or delivered, not durable yet: its commit XACKs it
  };

  // The list the last run committed.
  void load(const std::vector<StreamId>& ids);
  // `outstanding`: delivered and not yet acked (the AckTracker knows).
  Again classify_again(StreamId id, bool outstanding);
  // Known handled (for the log line of a pending entry whose payload is gone).
  bool known_handled(StreamId id) const;
  // Acked in this run (in a commit, durable, or XACKed recently), or loaded.
  bool acked(StreamId id) const { return committing_.count(id) || recently_xacked(id) || known_handled(id); }
  // The first replay is over: the rest of the loaded list was XACKed before
  // the last run ended.
  void replay_over() { loaded_.clear(); }

  // Handed out below the highest ID delivered: acked on its own, it never
  // moves the watermark.
  void hand_out_below(StreamId id) { out_of_order_.insert(id); }
  // An ack of an entry handed out below the watermark: true when it was one.
  bool ack_out_of_order(StreamId id);
  // Acked, in a commit that has not succeeded yet.
  void committing(const std::vector<StreamId>& ids);
  // The commit of `ids` is durable: they wait for their XACK.
  void durable(const std::vector<StreamId>& ids);
  void xack_confirmed(StreamId id);
  void xack_refused(StreamId id);

  // Handled (or handed out below the watermark) and not XACKed: counted in
  // flight. Refused XACKs are not: they would block reading for good.
  std::size_t in_flight() const { return out_of_order_.size() + unxacked_.size(); }
  // What a commit records as handled and not XACKed, in ID order.
  std::vector<StreamId> list() const;

 private:
  // A scan: only an entry given again, or a refused ack, asks.
  bool recently_xacked(StreamId id) const;

  std::set<StreamId> unxacked_;
  std::set<StreamId> committing_;
  std::set<StreamId> loaded_;
  std::set<StreamId> refused_;
  // A ring of confirmed XACKs, the oldest overwritten once it is full.
  std::vector<StreamId> recent_;
  std::size_t recent_next_ = 0;
  std::set<StreamId> out_of_order_;
};

}  // namespace streamckpt::detail
