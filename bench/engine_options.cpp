#include "engine_options.hpp"

namespace streamckpt::bench {

ConsumerOptions engine_options(const ChildArgs& args, const ResultPipe& out) {
  ConsumerOptions o;
  o.redis_url = args.redis_url;
  o.key.stream = args.stream;
  o.key.group = args.group;
  o.key.consumer = args.consumer;
  o.data_dir = args.dir;
  o.batch = args.batch;
  o.log = [&out](std::string_view line) { out.send("log", line); };
  return o;
}

}  // namespace streamckpt::bench
