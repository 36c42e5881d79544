// Replay driver: runs a fuzz target without libFuzzer, so that every build
// (any compiler) exercises it as a test. It runs the target over every file of
// the given corpus directories (or files), then over pseudo-random mutations
// of them. The seed is fixed: a failure reproduces on every run, and the input
// that failed is printed in hex.
//
//   <target>_replay [--mutations=N] PATH...
#include <algorithm>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

using Bytes = std::string;

// The input being run, for the crash report. Written only between runs.
const Bytes* g_current = nullptr;

void write_stderr(const char* text, std::size_t size) {
  while (size > 0) {
    const auto n = ::write(STDERR_FILENO, text, size);
    if (n <= 0) return;
    text += n;
    size -= static_cast<std::size_t>(n);
  }
}

// Async-signal-safe: only write(2) and a stack buffer.
void report_input(int sig) {
  if (g_current) {
    constexpr char k_header[] = "replay: the input that failed, in hex:\n";
    write_stderr(k_header, sizeof k_header - 1);
    constexpr char k_digits[] = "0123456789abcdef";
    char line[64 * 2 + 1];
    std::size_t used = 0;
    for (const char c : *g_current) {
      const auto byte = static_cast<unsigned char>(c);
      line[used++] = k_digits[byte >> 4];
      line[used++] = k_digits[byte & 15];
      if (used == sizeof line - 1) {
        line[used++] = '\n';
        write_stderr(line, used);
        used = 0;
      }
    }
    line[used++] = '\n';
    write_stderr(line, used);
  }
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

void run(const Bytes& input) {
  g_current = &input;
  LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
  g_current = nullptr;
}

Bytes read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Every regular file under each path, sorted: the order (and so the
// mutations) does not depend on the file system.
std::vector<Bytes> load_corpus(const std::vector<std::filesystem::path>& paths) {
  std::vector<std::filesystem::path> files;
  for (const auto& path : paths) {
    if (std::filesystem::is_directory(path)) {
      for (const auto& entry : std::filesystem::recursive_directory_iterator(path))
        if (entry.is_regular_file()) files.push_back(entry.path());
    } else {
      files.push_back(path);
    }
  }
  std::sort(files.begin(), files.end());
  std::vector<Bytes> corpus;
  for (const auto& file : files) corpus.push_back(read_file(file));
  return corpus;
}

// Engine output only, never std::*_distribution: the standard fixes
// mt19937_64's sequence but not what the distributions make of it.
class Mutator {
 public:
  explicit Mutator(const std::vector<Bytes>& corpus) : corpus_(corpus) {}

  Bytes next() {
    Bytes input = corpus_.empty() ? Bytes{} : corpus_[below(corpus_.size())];
    const auto steps = 1 + below(4);
    for (std::size_t i = 0; i < steps; ++i) mutate(input);
    return input;
  }

 private:
  std::size_t below(std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(engine_() % n); }

  char interesting_byte() {
    // Bytes that parsers of this project treat specially.
    static constexpr char k_bytes[] = {'\0', '\r', '\n', '-', '+', '*', '$',    ':',    '/',    '@',
                                       '[',  ']',  '%',  '?', '0', '9', '\x7f', '\x80', '\xff', ' '};
    return k_bytes[below(sizeof k_bytes)];
  }

  void mutate(Bytes& input) {
    const auto at = below(input.size() + 1);
    switch (below(7)) {
      case 0:  // flip one bit
        if (!input.empty()) input[at % input.size()] ^= static_cast<char>(1u << below(8));
        break;
      case 1:  // insert an interesting byte
        input.insert(at, 1, interesting_byte());
        break;
      case 2:  // overwrite with a random byte
        if (!input.empty()) input[at % input.size()] = static_cast<char>(engine_());
        break;
      case 3:  // erase a run
        input.erase(at, 1 + below(8));
        break;
      case 4:  // truncate
        input.resize(at);
        break;
      case 5:  // duplicate a run in place
        if (!input.empty()) {
          const auto from = below(input.size());
          input.insert(at, input.substr(from, 1 + below(16)));
        }
        break;
      default:  // splice in a run of another corpus input
        if (!corpus_.empty()) {
          const auto& other = corpus_[below(corpus_.size())];
          const auto from = below(other.size() + 1);
          input.insert(at, other.substr(from, 1 + below(32)));
        }
        break;
    }
  }

  const std::vector<Bytes>& corpus_;
  std::mt19937_64 engine_{0x5eedc0de};
};

}  // namespace

int main(int argc, char** argv) {
  std::size_t mutations = 5000;
  std::vector<std::filesystem::path> paths;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.starts_with("--mutations=")) {
      mutations = std::stoul(std::string(arg.substr(std::strlen("--mutations="))));
    } else {
      paths.emplace_back(arg);
    }
  }
  if (paths.empty()) {
    std::fprintf(stderr, "usage: %s [--mutations=N] CORPUS_DIR_OR_FILE...\n", argv[0]);
    return 2;
  }
  for (const int sig : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL}) std::signal(sig, report_input);

  const auto corpus = load_corpus(paths);
  if (corpus.empty()) {
    std::fprintf(stderr, "replay: no corpus files found\n");
    return 2;
  }
  for (const auto& input : corpus) run(input);
  Mutator mutator(corpus);
  for (std::size_t i = 0; i < mutations; ++i) run(mutator.next());
  std::printf("replay: %zu corpus inputs and %zu mutations passed\n", corpus.size(), mutations);
  return 0;
}
