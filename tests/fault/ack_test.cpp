// What ack() refuses, and that a refused ack keeps nothing: an event never
// delivered, one acked twice (before and after the checkpoint passed it),
// metadata over 1 KiB. (Effects on an unknown column family and a Merge are
// in the storage_recovery and shared_store tests.) The library against a real
// redis-server and a real store.
#include "storage_rig.hpp"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <boost/asio/io_context.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace streamckpt;
using namespace streamckpt::test;
namespace asio = boost::asio;

namespace {

asio::awaitable<void> ack_wrongly(Rig& rig, Consumer& consumer) {
  co_await start(consumer);
  const auto batch = co_await next_batch(consumer);
  REQUIRE(batch.size() == 10);

  const Event beyond{StreamId(rig.ids.back().ms() + 1, 0), {}};
  CHECK(consumer.ack(beyond) == errc::not_delivered);
  const Event between{StreamId(batch[0].id.ms(), batch[0].id.seq() + 1), {}};
  if (between.id < batch[1].id) CHECK(consumer.ack(between) == errc::not_delivered);

  CHECK_FALSE(consumer.ack(batch[1]));
  CHECK(consumer.ack(batch[1]) == errc::already_acked);  // waiting for batch[0]

  CHECK(consumer.ack(batch[0], rocksdb::WriteBatch{}, std::string(1025, 'm')) == errc::metadata_too_large);
  CHECK(consumer.ack(batch[0], rocksdb::WriteBatch{}, std::string(1024, 'm')).value() == 0);
  CHECK(consumer.ack(batch[0]) == errc::already_acked);  // the checkpoint has passed it
  for (std::size_t i = 2; i < batch.size(); ++i) CHECK_FALSE(consumer.ack(batch[i]));
  CHECK(consumer.metrics().acks == 10);  // the refused ones are not counted

  const auto [durable] = co_await consumer.async_durable(rig.id_of(10), k_tuple);
  CHECK_FALSE(durable);
  CHECK_FALSE(co_await stop(consumer));
}

}  // namespace

TEST_CASE("ack() says why it refuses an event, and a refused ack changes nothing") {
  for (const bool group : {true, false}) {
    CAPTURE(group);
    Rig rig(group);
    rig.produce(10);
    {
      asio::io_context io;
      Consumer consumer(io.get_executor(), rig.options());
      const Event first{rig.id_of(1), {}};
      CHECK(consumer.ack(first) == errc::not_delivered);  // not started
      run(io, ack_wrongly(rig, consumer));
    }
    const auto checkpoint = local_checkpoint(rig);
    CHECK(checkpoint.id == rig.id_of(10));
    CHECK(checkpoint.metadata == std::string(1024, 'm'));  // the accepted metadata, not the refused
  }
}
