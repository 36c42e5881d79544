// Runs a scenario child's coroutine to its end on its single-threaded
// io_context: an exception that escapes it fails the run with its message.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <exception>

namespace streamckpt::bench {

// Run: `asio::awaitable<void> run()`, `void fail(const std::string&)`,
// `bool failed() const`. Returns the child's exit status: 1 when it failed.
template <class Run>
int run_to_end(boost::asio::io_context& io, Run& run) {
  boost::asio::co_spawn(io, run.run(), [&](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      run.fail(ex.what());
    }
  });
  io.run();
  return run.failed() ? 1 : 0;
}

}  // namespace streamckpt::bench
