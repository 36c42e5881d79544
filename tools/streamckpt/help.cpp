#include "help.hpp"

#include <algorithm>

namespace streamckpt::cli {
namespace {

const char* const k_consume_synopsis =
    R"(  streamckpt consume --redis URL --stream NAME [--group NAME] --consumer NAME --data-dir DIR
                     [--sink stdout|file:PATH] [--start earliest|latest|fail] [--batch N]
                     [--max-events N] [--idle-exit-ms N] [--block-ms N] [--max-in-flight N]
                     [--on-regressed first|head|fail] [--flush-ms N] [--wait-lease] [--no-lease]
                     [--lease-ttl-ms N] [--startup-timeout-ms N] [--command-timeout-ms N]
                     [--connect-timeout-ms N] [--tls-ca FILE] [--tls-cert FILE] [--tls-key FILE]
                     [--tls-insecure] [--metrics] [--metrics-interval-ms N]
)";

const char* const k_show_synopsis =
    R"(  streamckpt checkpoint show --data-dir DIR --stream NAME [--group NAME] --consumer NAME
                     [--redis URL] [--json]
)";

const char* const k_list_synopsis = R"(  streamckpt checkpoint list --data-dir DIR [--json]
)";

const char* const k_set_synopsis =
    R"(  streamckpt checkpoint set --data-dir DIR --redis URL --stream NAME [--group NAME]
                     --consumer NAME --id ID [--force]
)";

const char* const k_reset_synopsis =
    R"(  streamckpt checkpoint reset --data-dir DIR --redis URL --stream NAME [--group NAME]
                     --consumer NAME
)";

const char* const k_consume_text = R"(consume reads the stream (XREADGROUP with --group, plain XREAD without) from where
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
  --idle-exit-ms N      stop cleanly once no event has arrived for N ms (at most 31536000000,
                        365 days)
  --block-ms N          BLOCK time of each read (default 1000)
  --max-in-flight N     events between read and durable ack, at most (default 1000,
                        or 3 x --batch when that is more)
  --startup-timeout-ms N  give up on an unreachable Redis at start-up after N ms (0: at
                        once); by default it keeps retrying, logging each attempt
  --command-timeout-ms N  deadline of every Redis request, 1 to 3600000 (default 2000; a
                        read's BLOCK time is not counted); a missed deadline drops the
                        connection
  --connect-timeout-ms N  deadline of connect + AUTH + SELECT, 1 to 3600000 (default 2000)
  --tls-ca FILE         rediss://: CA bundle to verify the server (default: system CAs)
  --tls-cert FILE, --tls-key FILE  rediss://: client certificate and key
  --tls-insecure        rediss://: do not verify the server's certificate
  --metrics             print the consumer's counters as one JSON line on stderr at exit
  --metrics-interval-ms N  ... and every N ms while running
)";

const char* const k_show_text = R"(checkpoint show prints the local copy (and, with --redis, the Redis copy) of one
consumer's checkpoint, whether each is valid, and the effective position.
)";

const char* const k_list_text = R"(checkpoint list prints every checkpoint in a data directory.
)";

const char* const k_set_text = R"(checkpoint set writes both copies (moving backwards needs --force, starts a new
epoch, and moves the group back too); it refuses while a consumer holds the data
directory.
)";

const char* const k_reset_text = R"(checkpoint reset deletes both copies; it refuses while a consumer holds the data
directory.
)";

const char* const k_exit_status = R"(exit status: 0 success, 1 failure (one line on stderr: "streamckpt: error: ..."),
2 usage error.
)";

std::string checkpoint_synopses() {
  return std::string(k_show_synopsis) + k_list_synopsis + k_set_synopsis + k_reset_synopsis;
}

std::string checkpoint_texts() { return std::string(k_show_text) + k_list_text + k_set_text + k_reset_text; }

std::string help(const std::string& synopses, const std::string& text) {
  return "usage:\n" + synopses + "\n" + text + "\n" + k_exit_status;
}

}  // namespace

std::string usage() {
  return std::string("usage:\n") + k_consume_synopsis + checkpoint_synopses() + "  streamckpt --help\n";
}

std::string full_help() { return usage() + "\n" + k_consume_text + "\n" + checkpoint_texts() + "\n" + k_exit_status; }

std::string help_for(const std::string& command) {
  if (command == "consume") return help(k_consume_synopsis, k_consume_text);
  if (command == "checkpoint show") return help(k_show_synopsis, k_show_text);
  if (command == "checkpoint list") return help(k_list_synopsis, k_list_text);
  if (command == "checkpoint set") return help(k_set_synopsis, k_set_text);
  if (command == "checkpoint reset") return help(k_reset_synopsis, k_reset_text);
  return help(checkpoint_synopses(), checkpoint_texts());
}

bool asks_for_help(const std::vector<std::string>& args) {
  return std::any_of(args.begin(), args.end(), [](const std::string& a) { return a == "-h" || a == "--help"; });
}

}  // namespace streamckpt::cli
