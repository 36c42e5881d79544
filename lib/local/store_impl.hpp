// What a Store holds: its LocalStore, the committer thread that writes to it,
// and the keys of the consumers running on it.
#pragma once

#include "local/committer.hpp"

#include <streamckpt/store.hpp>

#include <mutex>
#include <set>
#include <tuple>

namespace streamckpt {

struct Store::Impl {
  explicit Impl(std::unique_ptr<LocalStore> local);
  ~Impl();

  // Registers a running consumer: false when one with the same key runs
  // already (two would commit over each other's checkpoint).
  bool claim(const CheckpointKey& key);
  void release(const CheckpointKey& key);

  std::unique_ptr<LocalStore> local;
  std::unique_ptr<detail::Committer> committer;

 private:
  std::mutex mutex_;
  std::set<std::tuple<std::string, std::string, std::string>> running_;
};

}  // namespace streamckpt
