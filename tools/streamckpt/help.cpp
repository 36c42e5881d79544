#include "help.hpp"

#include <algorithm>
#include <set>

namespace streamckpt::cli {
namespace {

const char* const k_consume_synopsis =
    R"(  streamckpt consume --redis URL --stream NAME [--group NAME] --consumer NAME --data-dir DIR
                     [--sink stdout|file:PATH] [--start earliest|latest|fail] [--batch N]
                     [--max-events N] [--idle-exit-ms N] [--block-ms N] [--max-in-flight N]
                     [--on-regressed first|head|fail] [--flush-ms N] [--wait-lease] [--no-lease]
                     [--lease-ttl-ms N] [--claim-idle-ms N] [--max-deliveries N]
                     [--dead-letter STREAM] [--startup-timeout-ms N]
                     [--command-timeout-ms N] [--connect-timeout-ms N] [--tls-ca FILE]
                     [--tls-cert FILE] [--tls-key FILE] [--tls-insecure] [--metrics]
                     [--metrics-interval-ms N] [--metrics-listen ADDR] [--metrics-file PATH]
                     [--metrics-file-ms N] [--redis-user NAME] [--redis-password-file FILE]
)";

// The credentials options of the commands that read Redis besides consume.
#define STREAMCKPT_CLI_AUTH_OPTIONS                                                           \
  "  --redis-user NAME     the ACL user (default: $STREAMCKPT_REDIS_USER); not with a user\n" \
  "                        in --redis\n"                                                      \
  "  --redis-password-file FILE  the password, from FILE (default:\n"                         \
  "                        $STREAMCKPT_REDIS_PASSWORD); not with a password in --redis\n"

const char* const k_group_synopsis =
    R"(  streamckpt group describe --redis URL --stream NAME --group NAME [--data-dir DIR]
                     [--json] [--redis-user NAME] [--redis-password-file FILE]
)";

const char* const k_group_text =
    R"(group describe prints the stream's state (length, last-generated-id, first entry,
entries-added), the group's (last-delivered-id, entries-read, lag, pending), and one
line per member, separated by tabs: its pending entries, its idle time, its Redis
copy's checkpoint, its local copy's (with --data-dir) and its lag: entries-added minus
the entries its newest checkpoint had seen ("-" when unknown).

  --redis URL           where the stream is
  --stream NAME         the stream's key, 1 to 1024 bytes
  --group NAME          the consumer group, 1 to 1024 bytes
  --data-dir DIR        also read the members' local copies from this store (read-only;
                        it must exist)
  --json                print one JSON object: {"stream":{...},"group":{...},
                        "members":[{"name","pending","idle_ms","redis","local","lag"}]}
)" STREAMCKPT_CLI_AUTH_OPTIONS;

const char* const k_version_synopsis = R"(  streamckpt version
  streamckpt --version
)";

const char* const k_version_text =
    R"(version prints streamckpt's version, the versions of the libraries it was built
with (RocksDB, hiredis, Boost, fmt, OpenSSL), the compiler, and its features (TLS).
)";

const char* const k_show_synopsis =
    R"(  streamckpt checkpoint show --data-dir DIR --stream NAME [--group NAME] --consumer NAME
                     [--redis URL] [--redis-user NAME] [--redis-password-file FILE] [--json]
)";

const char* const k_list_synopsis = R"(  streamckpt checkpoint list --data-dir DIR [--json]
)";

const char* const k_set_synopsis =
    R"(  streamckpt checkpoint set --data-dir DIR --redis URL --stream NAME [--group NAME]
                     --consumer NAME (--id ID | --to-datetime TIME) [--force] [--dry-run]
                     [--redis-user NAME] [--redis-password-file FILE]
)";

const char* const k_reset_synopsis =
    R"(  streamckpt checkpoint reset --data-dir DIR --redis URL --stream NAME [--group NAME]
                     --consumer NAME [--force] [--dry-run] [--redis-user NAME]
                     [--redis-password-file FILE]
)";

const char* const k_export_synopsis =
    R"(  streamckpt checkpoint export --data-dir DIR --stream NAME [--group NAME] --consumer NAME
  streamckpt checkpoint import --data-dir DIR --redis URL --file FILE [--force] [--dry-run]
                     [--redis-user NAME] [--redis-password-file FILE]
)";

const char* const k_consume_text =
    R"(consume reads the stream from where the consumer's checkpoint left off, writes each
event to the sink as one JSON line, and makes the checkpoint durable after every
acknowledged event. SIGTERM or SIGINT stops it cleanly: in-flight events are finished
and acknowledged, exit status 0; a second signal exits at once with status 1.

  --redis URL           redis://[user:password@]host[:port][/db], rediss://... (TLS),
                        unix:///path[?db=N], or behind Sentinel
                        redis+sentinel://[user:password@]host[:port][,host[:port]...]/MASTER[/db]
                        (Sentinel port 26379 by default; the user and password are the
                        master's; failovers are followed), or in a Redis Cluster
                        redis+cluster://[user:password@]host[:port][,host[:port]...] (any
                        nodes; the stream's slot's master is found and followed). A '/' or
                        '%' in a password is written %2F, %25. AUTH and SELECT are sent on
                        every (re)connect
  --stream NAME         the stream's key, 1 to 1024 bytes
  --group NAME          group mode: read with XREADGROUP as a member of this consumer
                        group (1 to 1024 bytes). The group is created when missing, at
                        the position consume resumes from, with MKSTREAM: a missing
                        stream is created empty. Without --group: plain XREAD (the
                        options marked "group mode" are then accepted and ignored)
  --consumer NAME       the consumer's name, 1 to 1024 bytes: with the stream and the
                        group it names the checkpoint; in group mode it is also the
                        XREADGROUP consumer
  --data-dir DIR        the local checkpoint store (RocksDB), created when missing; one
                        consume at a time may use it
  --sink SINK           stdout (default): one line per event, flushed before its ack;
                        file:PATH: appended to PATH, exactly once across crashes (PATH is
                        cut back to the length its checkpoint records on start). PATH is
                        locked while consume runs and marked as this consumer's; a PATH
                        it creates is mode 0600. Refused: a PATH that is not a regular
                        file (a FIFO, device, directory or socket); a PATH marked by
                        another consumer; a non-empty PATH marked from another data
                        directory; a non-empty PATH when no checkpoint exists and this
                        sink did not write it, when no copy is valid, or when the
                        checkpoint records no file length (stdout sink, checkpoint set)
  --start POLICY        where to begin without a valid checkpoint: earliest (default),
                        latest, or fail
  --on-regressed POLICY  when a checkpoint is beyond the stream's end (Redis lost data):
                        first (default: from the stream's first entry, lose nothing),
                        head (skip to the end), or fail
  --batch N             entries per read, 1 to 100000 (default 100)
  --max-events N        handle N events (at least 1), then stop cleanly
  --idle-exit-ms N      stop cleanly once no event has arrived for N ms, 1 to 31536000000
                        (365 days); checked whenever a read returns nothing
  --block-ms N          BLOCK time of each read, 1 to 3600000 (default 1000, or
                        --idle-exit-ms when that is less and --block-ms is not given)
  --max-in-flight N     events between read and durable ack, at most, 1 to 10000000
                        (default 1000, or 3 x --batch when that is more)
  --flush-ms N          write the checkpoint through to Redis within N ms of a commit,
                        or as soon as it trails by 1000 events; 0 to 3600000 (default
                        100; 0: after every commit)
  --wait-lease          group mode: wait while another instance holds this consumer's
                        lease, instead of failing
  --no-lease            group mode: do not take the lease (no fencing); in either mode
                        a usage error with --wait-lease or --lease-ttl-ms
  --lease-ttl-ms N      group mode: the lease's lifetime, renewed every third of it;
                        300 to 3600000 (default 10000)
  --claim-idle-ms N     group mode: take over the entries pending on another member
                        for over N ms (a member that is gone): those it recorded as
                        handled are XACKed, the others claimed and handled here; members
                        idle that long with nothing pending are removed; 0 to
                        31536000000, 0: off (default 60000)
  --max-deliveries N    group mode: an entry handed out N times without being handled
                        (its handling crashed the process, say) is copied to the dead-
                        letter stream with its origin and the reason, then XACKed;
                        counted by the members (the group's ::deliveries hash), 0 to
                        1000000, 0: off (default)
  --dead-letter STREAM  where those go (default: <stream>:dead)
  --startup-timeout-ms N  give up on an unreachable Redis at start-up after N ms, 0 to
                        31536000000 (0: at the first failure); by default it keeps
                        retrying, logging each attempt
  --command-timeout-ms N  deadline of every Redis request, 1 to 3600000 (default 2000; a
                        read's BLOCK time is added to it); a missed deadline drops the
                        connection
  --connect-timeout-ms N  time allowed to connect (resolve, connect, TLS handshake) and
                        again for AUTH + SELECT, 1 to 3600000 (default 2000)
  --tls-ca FILE         rediss://: CA bundle to verify the server (default: system CAs)
  --tls-cert FILE, --tls-key FILE  rediss://: client certificate and key, both or neither
  --tls-insecure        rediss://: do not verify the server's certificate
  --metrics             print the consumer's counters as one JSON line on stderr at exit
  --metrics-interval-ms N  ... and every N ms while running, 0 to 3600000 (0, the
                        default: at exit only); implies --metrics
  --metrics-listen ADDR  serve the metrics in the Prometheus text format at
                        http://ADDR/metrics; ADDR is IP:PORT or [IPv6]:PORT, PORT 0 to
                        65535 (0: any free port, named on stderr). The stream is sampled
                        once a second for the lag (XINFO STREAM; in group mode also
                        XINFO GROUPS)
  --metrics-file PATH   write the same text to PATH (for node_exporter's textfile
                        collector: name it *.prom) at start, every --metrics-file-ms and
                        at exit, through PATH.tmp and a rename; mode 0644
  --metrics-file-ms N   how often, 1000 to 3600000 (default 15000)
)"
    R"(  --redis-user NAME     the ACL user to AUTH as (default: the STREAMCKPT_REDIS_USER
                        variable); needs a password; a usage error if --redis names one
  --redis-password-file FILE  read the password from FILE (one line; its line end is
                        dropped) (default: the STREAMCKPT_REDIS_PASSWORD variable); a
                        usage error if --redis holds one. A password in --redis works,
                        with a warning: other users can read the command line
Under systemd (Type=notify; NOTIFY_SOCKET set), consume sends READY=1 once it has
decided where to resume, STATUS= as the checkpoint moves, WATCHDOG=1 every half of
WATCHDOG_USEC, and STOPPING=1 when it stops. Whatever it creates is private to its
user (umask 077; the store 0700, a sink file 0600); the metrics file is 0644.
)";

// What show, set and reset take to name one consumer's checkpoint.
const char* const k_key_options = R"(  --stream NAME         the stream's key, 1 to 1024 bytes
  --group NAME          the consumer group, for a checkpoint consumed with --group
  --consumer NAME       the consumer's name, 1 to 1024 bytes
)";

const char* const k_show_about = R"(checkpoint show prints the local copy (and, with --redis, the Redis copy) of one
consumer's checkpoint, whether each is valid, and the effective position: the one
consume would resume after. It opens the store read-only and works beside a running
consumer.
)";

const char* const k_show_options = R"(  --data-dir DIR        the store consume wrote; it must exist
  --redis URL           also read the Redis copy and check the stream (without it, the
                        local copy is judged alone)
  --json                print {"local":...,"redis":...,"effective":...} on one line
                        instead of three lines of text
)" STREAMCKPT_CLI_AUTH_OPTIONS;

const char* const k_list_text = R"(checkpoint list prints every checkpoint in a data directory, one per line: stream,
group ("-" in plain mode), consumer and the copy's state, separated by tabs. It opens
the store read-only and works beside a running consumer.

  --data-dir DIR        the store consume wrote; it must exist
  --json                print one JSON array of {"stream","group","consumer","id",
                        "valid","reason"} objects instead
)";

const char* const k_set_about = R"(checkpoint set writes both copies of one consumer's checkpoint. In group mode it also
deletes this consumer's pending entries and sets the group's last-delivered ID to ID,
so that the entries after ID are delivered again, in order. It first checks the
stream: it must exist, and ID must not be beyond its last-generated-id; otherwise
nothing is changed. It refuses while a consumer holds the data directory.
)";

const char* const k_set_options =
    R"(  --data-dir DIR        the local store, created when missing
  --redis URL           where the Redis copy (and the group) is
)" STREAMCKPT_CLI_AUTH_OPTIONS
    R"(  --id ID               the new checkpoint, <ms>-<seq>: the last entry handled; consume
                        resumes after it
  --to-datetime TIME    instead of --id: the last entry at or before TIME, an ISO 8601
                        date and time with a zone (2026-01-31T12:00:00Z,
                        2026-01-31T13:00:00.250+01:00); 0-0 when there is none
  --force               allow moving the checkpoint backwards (entries after ID are
                        handled again); starts a new epoch
  --dry-run             check everything and say what would be written; change nothing
                        (and make no store)
The checkpoint keeps the file length a file sink recorded: its file is not cut,
so after moving backwards the lines of the entries after ID are written again,
and after moving forwards those of the entries skipped are missing.
)";

const char* const k_reset_about =
    R"(checkpoint reset deletes both copies of one consumer's checkpoint (the group is left
as it is). It refuses while a consumer holds the data directory.
)";

const char* const k_reset_options = R"(  --data-dir DIR        the local store; it must exist (unless --force)
  --redis URL           where the Redis copy is
)" STREAMCKPT_CLI_AUTH_OPTIONS R"(  --force               when --data-dir holds no store, delete the Redis copy alone
  --dry-run             say what would be deleted (and what it holds); change nothing
)";

const char* const k_export_text =
    R"(checkpoint export prints one consumer's local checkpoint as one line of JSON:
{"format":"streamckpt-checkpoint-1","stream","group","consumer","id","epoch",
"updated_ms","entries_seen","metadata"}. It opens the store read-only. checkpoint import
writes such a file to both copies of the consumer it names, with the rules of
checkpoint set (the stream is checked; moving backwards needs --force), keeping the
higher epoch and taking the file's metadata and entries seen: to move a consumer to
another host, stop it, export, import there, start it there.

)"
    R"(  --data-dir DIR        export: the store consume wrote; import: the store to write
                        (created when missing)
  --stream NAME         the stream's key, 1 to 1024 bytes
  --group NAME          the consumer group, for a checkpoint consumed with --group
  --consumer NAME       the consumer's name, 1 to 1024 bytes
  --redis URL           import: where the Redis copy (and the group) is
  --file FILE           import: the JSON export wrote ("-": standard input)
  --force               import: allow moving the checkpoint backwards
  --dry-run             import: say what would be written; change nothing
)" STREAMCKPT_CLI_AUTH_OPTIONS;

const char* const k_exit_status = R"(exit status: 0 success, 1 failure (one line on stderr: "streamckpt: error: ..."),
2 usage error.
)";

std::string checkpoint_synopses() {
  return std::string(k_show_synopsis) + k_list_synopsis + k_set_synopsis + k_reset_synopsis + k_export_synopsis;
}

// A command that names one consumer's checkpoint: its description, then
// the options that name it, then its own.
std::string keyed_text(const char* about, const char* options) {
  return std::string(about) + "\n" + k_key_options + options;
}

std::string checkpoint_texts() {
  return keyed_text(k_show_about, k_show_options) + "\n" + k_list_text + "\n" + keyed_text(k_set_about, k_set_options) +
         "\n" + keyed_text(k_reset_about, k_reset_options) + "\n" + k_export_text;
}

std::string help(const std::string& synopses, const std::string& text) {
  return "usage:\n" + synopses + "\n" + text + "\n" + k_exit_status;
}

}  // namespace

std::string usage() {
  return std::string("usage:\n") + k_consume_synopsis + checkpoint_synopses() + k_group_synopsis + k_version_synopsis +
         "  streamckpt --help\n";
}

std::string full_help() {
  return usage() + "\n" + k_consume_text + "\n" + checkpoint_texts() + "\n" + k_group_text + "\n" + k_version_text +
         "\n" + k_exit_status;
}

std::string help_for(const std::string& command) {
  if (command == "consume") return help(k_consume_synopsis, k_consume_text);
  if (command == "version") return help(k_version_synopsis, k_version_text);
  if (command == "group describe") return help(k_group_synopsis, k_group_text);
  if (command == "checkpoint show") return help(k_show_synopsis, keyed_text(k_show_about, k_show_options));
  if (command == "checkpoint list") return help(k_list_synopsis, k_list_text);
  if (command == "checkpoint set") return help(k_set_synopsis, keyed_text(k_set_about, k_set_options));
  if (command == "checkpoint reset") return help(k_reset_synopsis, keyed_text(k_reset_about, k_reset_options));
  if (command == "checkpoint export" || command == "checkpoint import") return help(k_export_synopsis, k_export_text);
  return help(checkpoint_synopses(), checkpoint_texts());
}

bool asks_for_help(const std::vector<std::string>& args) {
  // Every "--name" but these switches (of all commands) takes the next
  // argument as its value: `--consumer -h` names a consumer, it asks nothing.
  static const std::set<std::string> k_switches = {"json",       "force",    "dry-run",     "metrics",
                                                   "wait-lease", "no-lease", "tls-insecure"};
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto& a = args[i];
    if (a == "-h" || a == "--help") return true;
    if (a.rfind("--", 0) == 0 && a.find('=') == std::string::npos && !k_switches.count(a.substr(2))) ++i;
  }
  return false;
}

}  // namespace streamckpt::cli
