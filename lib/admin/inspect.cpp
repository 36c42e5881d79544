// admin::inspect() and admin::list(): reading, never writing.
#include "admin/stores.hpp"
#include "admin/sync_redis.hpp"
#include "consumer/resume.hpp"

#include <streamckpt/admin.hpp>

namespace streamckpt::admin {

Outcome<Inspection> inspect(const Place& place, const CheckpointKey& key) {
  auto store = detail::open_for_reading(place.data_dir);
  if (!store) return store.error();
  Inspection out;
  streamckpt::detail::ResumeInputs in;
  in.local = (*store)->read(key);
  const bool redis_read = !place.redis_url.empty();
  if (redis_read) {
    detail::SyncRedis redis;
    if (auto problem = redis.connect(place.redis_url, key.stream)) return problem;
    auto copy = redis.read_copy(key);
    if (!copy) return copy.error();
    auto stream = redis.stream_state(key.stream);
    if (!stream) return stream.error();
    in.redis = *copy;
    in.stream = *stream;
    out.stream = *stream;
  } else {
    // Without Redis the stream cannot be checked: judge the local copy alone.
    in.stream.exists = true;
    in.stream.last_generated = StreamId::max();
  }
  const auto decided = streamckpt::detail::decide_resume(in);
  if (decided && (decided->source == ResumeReport::Source::local || decided->source == ResumeReport::Source::redis))
    out.effective = decided->position;
  // decide_resume() marks a copy the stream went back behind invalid.
  out.local = decided ? decided->local : in.local;
  if (redis_read) out.redis = decided ? decided->redis : in.redis;
  return out;
}

Outcome<Listing> list(const std::filesystem::path& data_dir) {
  auto store = detail::open_for_reading(data_dir);
  if (!store) return store.error();
  Listing out;
  for (auto& l : (*store)->list(&out.undecodable)) out.checkpoints.push_back({std::move(l.key), std::move(l.copy)});
  return out;
}

}  // namespace streamckpt::admin
