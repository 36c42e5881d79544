// Signal: wakes every coroutine waiting on it (a condition variable for a
// single-threaded executor). Waiters re-check their condition in a loop:
// notify() only wakes waits already in progress.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace streamckpt::detail {

class Signal {
 public:
  explicit Signal(const boost::asio::any_io_executor& ex) : timer_(ex, boost::asio::steady_timer::time_point::max()) {}

  boost::asio::awaitable<void> wait() {
    boost::system::error_code ignored;
    co_await timer_.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ignored));
  }
  void notify() { timer_.cancel(); }

 private:
  boost::asio::steady_timer timer_;
};

}  // namespace streamckpt::detail
