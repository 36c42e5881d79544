// Metrics: everything the consumer observes, as numbers.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace streamckpt {

// The upper bounds, in µs, of Metrics::ack_to_durable_le's buckets: 100 µs to
// 10 s, as a Prometheus histogram's "le" labels.
inline constexpr std::array<std::uint64_t, 16> k_ack_to_durable_bounds_us = {
    100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000};

struct Metrics {
  std::uint64_t events = 0;   // events handed to the application
  std::uint64_t acks = 0;     // acks received
  std::uint64_t commits = 0;  // durable local commits of this consumer
  std::uint64_t fsyncs = 0;   // synced writes by the committer (group commits)
  std::uint64_t xacks = 0;    // entry IDs XACKed
  // Entry IDs whose XACK Redis refused with an error reply (an ACL without
  // XACK, say): they stay pending, and the next start XACKs them.
  std::uint64_t xack_failures = 0;
  std::uint64_t redis_flushes = 0;  // successful write-throughs of the Redis copy
  std::uint64_t flush_failures = 0;
  std::uint64_t reconnects = 0;
  std::uint64_t storage_errors = 0;  // failed local commits (each retried)
  std::uint64_t gaps = 0;            // deleted before handled: at start-up, and while reading (plain mode)
  std::uint64_t gap_entries = 0;
  std::uint64_t regressions = 0;      // streams found behind a checkpoint
  std::uint64_t deleted_pending = 0;  // pending entries whose payload was deleted
  std::uint64_t stall_pauses = 0;     // async_next() held back while a sync ran long
  // Group mode, entries taken over from members idle past claim_idle: those
  // claimed and handed out here, and those only XACKed, as their member had
  // recorded them handled; and the idle members removed, with nothing pending.
  std::uint64_t claimed = 0;
  std::uint64_t claim_xacks = 0;
  std::uint64_t members_removed = 0;
  // Group mode: the group found gone while running (XGROUP DESTROY, the
  // stream deleted), and recreated at this consumer's checkpoint, by it or by
  // another member first. Entries other members handled above that position
  // are delivered again.
  std::uint64_t groups_lost = 0;
  std::uint64_t dead_lettered = 0;  // entries given up after max_deliveries, copied to the dead-letter stream
  std::uint64_t ack_to_durable_p50_us = 0;
  std::uint64_t ack_to_durable_p99_us = 0;
  std::uint64_t ack_to_durable_p999_us = 0;
  // The same latencies, exactly, in fixed buckets: ack_to_durable_le[i]
  // counts the acks durable within k_ack_to_durable_bounds_us[i] µs
  // (cumulative, as Prometheus's buckets); _count all acks timed, _sum_us
  // their total.
  std::array<std::uint64_t, k_ack_to_durable_bounds_us.size()> ack_to_durable_le{};
  std::uint64_t ack_to_durable_count = 0;
  std::uint64_t ack_to_durable_sum_us = 0;
  // Successful synced local writes, each timed once: the WriteBatch (with
  // the application's writes of transactional acks), its WAL fdatasync, and
  // a reopen before it after an I/O error. The disk as this consumer meets it.
  std::uint64_t sync_p50_us = 0;
  std::uint64_t sync_p99_us = 0;
  std::uint64_t sync_max_us = 0;
  std::uint64_t redis_lag_events = 0;  // how far the Redis copy trails the local one
  std::uint64_t redis_lag_ms = 0;
  // How many entries the stream had received up to the checkpoint being
  // committed, as far as this consumer knows (Checkpoint::entries_seen):
  // XINFO STREAM's entries-added minus this is the consumer's lag in entries
  // (exact in plain mode and for a group's only consumer).
  std::uint64_t entries_seen = 0;

  std::string to_json() const;
};

}  // namespace streamckpt
