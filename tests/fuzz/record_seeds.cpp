// Writes the seed corpus of the checkpoint_record fuzz target: valid records,
// and keys in the local store's encoding.
//
//   record_seeds DIR
#include <streamckpt/checkpoint.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

using streamckpt::Checkpoint;
using streamckpt::CheckpointKey;
using streamckpt::StreamId;
namespace record = streamckpt::record;

namespace {

void write(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  std::filesystem::create_directories(dir);

  Checkpoint plain;
  plain.key = CheckpointKey{"orders", "", "c1"};
  plain.id = StreamId{1700000000000, 3};
  plain.updated_ms = 1700000000123;
  plain.entries_seen = 42;
  write(dir / "record-plain", record::encode(plain));

  Checkpoint group = plain;
  group.key = CheckpointKey{"events", "billing", "worker-7"};
  group.id = StreamId::max();
  group.epoch = 2;
  group.metadata = "offset=17";
  write(dir / "record-group-metadata", record::encode(group));

  Checkpoint minimal;
  minimal.key = CheckpointKey{"s", "", "c"};
  write(dir / "record-minimal", record::encode(minimal));

  write(dir / "key-group", record::encode_key(group.key));
  write(dir / "key-plain", record::encode_key(plain.key));
  return 0;
}
