#include "args.hpp"
#include "commands.hpp"

#include <fmt/format.h>

#include <cstdio>

namespace streamckpt::cli {

const char* const k_usage = R"(usage:
  streamckpt consume --redis URL --stream NAME [--group NAME] --consumer NAME --data-dir DIR
                     [--sink stdout|file:PATH] [--start earliest|latest|fail] [--batch N]
                     [--max-events N] [--idle-exit-ms N] [--block-ms N] [--max-in-flight N]
                     [--on-regressed first|head|fail] [--flush-ms N] [--wait-lease] [--no-lease]
                     [--lease-ttl-ms N] [--startup-timeout-ms N] [--command-timeout-ms N]
                     [--connect-timeout-ms N] [--tls-ca FILE] [--tls-cert FILE] [--tls-key FILE]
                     [--tls-insecure] [--metrics] [--metrics-interval-ms N]
  streamckpt checkpoint show --data-dir DIR --stream NAME [--group NAME] --consumer NAME
                     [--redis URL] [--json]
  streamckpt checkpoint list --data-dir DIR [--json]
  streamckpt checkpoint set --data-dir DIR --redis URL --stream NAME [--group NAME]
                     --consumer NAME --id ID [--force]
  streamckpt checkpoint reset --data-dir DIR --redis URL --stream NAME [--group NAME]
                     --consumer NAME
  streamckpt --help

consume reads the stream (XREADGROUP with --group, plain XREAD without) from where
the consumer's checkpoint left off, writes each event to the sink as one JSON line,
and makes the checkpoint durable after every acknowledged event. SIGTERM or SIGINT
stops it cleanly: in-flight events are finished and acknowledged, exit status 0.

  --redis URL           redis://[user:password@]host[:port][/db], rediss://..., unix:///path[?db=N]
  --sink SINK           stdout (default): one line per event, flushed before its ack;
                        file:PATH: appended to PATH, exactly once across crashes (PATH is
                        cut back to the length its checkpoint records on start)
  --start POLICY        where to begin without a valid checkpoint: earliest (default),
                        latest, or fail
  --on-regressed POLICY  when a checkpoint is beyond the stream's end (Redis lost data):
                        first (default: from the stream's first entry, lose nothing),
                        head (skip to the end), or fail
  --flush-ms N          write the checkpoint through to Redis at least every N ms
                        (default 100; 0: after every commit)
  --wait-lease          group mode: wait while another instance holds this consumer's
                        lease, instead of failing
  --no-lease            group mode: do not take the lease (no fencing)
  --lease-ttl-ms N      lease lifetime, renewed every third of it (default 10000)
  --batch N             entries per read (default 100)
  --max-events N        handle N events, then stop cleanly
  --idle-exit-ms N      stop cleanly once no event has arrived for N ms
  --block-ms N          BLOCK time of each read (default 1000)
  --max-in-flight N     events between read and durable ack, at most (default 1000,
                        or 3 x --batch when that is more)
  --startup-timeout-ms N  give up on an unreachable Redis at start-up after N ms (0: at
                        once); by default it keeps retrying, logging each attempt
  --command-timeout-ms N  deadline of every Redis request (default 2000; a read's BLOCK
                        time is not counted); a missed deadline drops the connection
  --connect-timeout-ms N  deadline of connect + AUTH + SELECT (default 2000)
  --tls-ca FILE         rediss://: CA bundle to verify the server (default: system CAs)
  --tls-cert FILE, --tls-key FILE  rediss://: client certificate and key
  --tls-insecure        rediss://: do not verify the server's certificate
  --metrics             print the consumer's counters as one JSON line on stderr at exit
  --metrics-interval-ms N  ... and every N ms while running

checkpoint show prints the local copy (and, with --redis, the Redis copy) of one
consumer's checkpoint, whether each is valid, and the effective position.
checkpoint list prints every checkpoint in a data directory. checkpoint set writes
both copies (moving backwards needs --force, starts a new epoch, and moves the
group back too); checkpoint reset deletes both copies. set and reset refuse while
a consumer holds the data directory.

exit status: 0 success, 1 failure (one line on stderr: "streamckpt: error: ..."),
2 usage error.
)";

int fail(const std::string& message) {
  fmt::print(stderr, "streamckpt: error: {}\n", message);
  return 1;
}

namespace {

int usage_error(const std::string& message) {
  fmt::print(stderr, "streamckpt: {}\n{}", message, k_usage);
  return 2;
}

}  // namespace
}  // namespace streamckpt::cli

int main(int argc, char** argv) {
  using namespace streamckpt::cli;
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    if (args.empty()) return usage_error("missing command");
    if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
      fmt::print("{}", k_usage);
      return 0;
    }
    const std::string command = args[0];
    args.erase(args.begin());
    if (command == "consume") return run_consume(args);
    if (command == "checkpoint") return run_checkpoint(args);
    return usage_error(fmt::format("unknown command '{}'", command));
  } catch (const UsageError& e) {
    return usage_error(e.what());
  } catch (const std::exception& e) {
    return fail(e.what());
  }
}
