#include "local_record.hpp"

#include <rocksdb/db.h>

#include <memory>
#include <stdexcept>
#include <vector>

namespace streamckpt::test {
namespace {

struct Opened {
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  ~Opened() {
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  }
};

std::unique_ptr<Opened> open(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  if (!rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir.string(), &names).ok())
    throw std::runtime_error("not a RocksDB directory: " + dir.string());
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (const auto& n : names) families.emplace_back(n, rocksdb::ColumnFamilyOptions());
  auto out = std::make_unique<Opened>();
  rocksdb::DB* raw = nullptr;
  if (!rocksdb::DB::Open(rocksdb::DBOptions(), dir.string(), families, &out->handles, &raw).ok())
    throw std::runtime_error("cannot open " + dir.string());
  out->db.reset(raw);
  return out;
}

rocksdb::ColumnFamilyHandle* checkpoints(const Opened& o) {
  for (auto* h : o.handles)
    if (h->GetName() == "checkpoints") return h;
  throw std::runtime_error("no checkpoints column family");
}

}  // namespace

std::string read_raw_record(const std::filesystem::path& dir, const CheckpointKey& key) {
  auto o = open(dir);
  std::string value;
  o->db->Get(rocksdb::ReadOptions(), checkpoints(*o), record::encode_key(key), &value).PermitUncheckedError();
  return value;
}

void write_raw_record(const std::filesystem::path& dir, const CheckpointKey& key, const std::string& value) {
  auto o = open(dir);
  rocksdb::WriteOptions wo;
  wo.sync = true;
  if (!o->db->Put(wo, checkpoints(*o), record::encode_key(key), value).ok())
    throw std::runtime_error("cannot write the raw record");
}

void flip_bit_in_record(const std::filesystem::path& dir, const CheckpointKey& key) {
  auto value = read_raw_record(dir, key);
  if (value.empty()) throw std::runtime_error("no record to corrupt");
  value[value.size() / 2] = static_cast<char>(value[value.size() / 2] ^ 0x10);
  write_raw_record(dir, key, value);
}

}  // namespace streamckpt::test
