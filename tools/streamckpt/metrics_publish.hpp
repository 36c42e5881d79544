// --metrics-listen and --metrics-file: the consumer's numbers for Prometheus,
// served to scrapes and written for node_exporter's textfile collector, with
// the stream's state sampled once a second for the lag.
#pragma once

#include "metrics_http.hpp"
#include "prometheus.hpp"

#include <streamckpt/options.hpp>
#include <streamckpt/report.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace streamckpt {
class StreamSampler;
}

namespace streamckpt::cli {

struct MetricsPublishing {
  std::optional<boost::asio::ip::tcp::endpoint> listen;
  std::string file;  // "": none
  std::chrono::milliseconds file_interval{15000};
};

class MetricsPublisher {
 public:
  // `view` gives the numbers (without the lag, which this adds); called on
  // the io_context's thread.
  MetricsPublisher(boost::asio::io_context& io, MetricsPublishing publishing, const ConsumerOptions& options,
                   std::function<MetricsView()> view);
  ~MetricsPublisher();

  bool enabled() const { return publishing_.listen || !publishing_.file.empty(); }
  // Listens and writes the file a first time: "" or why it could not.
  std::string begin();
  // Writes the file a last time, stops listening and sampling.
  void finish();
  // The stream's state as start-up read it: the lag's first sample.
  void note_stream(const StreamState& state) { last_sample_ = state; }
  // The exposition as it stands.
  std::string render() const;

 private:
  void schedule_file();
  void schedule_sample();
  std::string write_file() const;

  boost::asio::io_context& io_;
  MetricsPublishing publishing_;
  std::function<MetricsView()> view_;
  std::unique_ptr<MetricsServer> server_;
  std::unique_ptr<StreamSampler> sampler_;
  std::string stream_;
  std::string group_;  // "": plain mode
  boost::asio::steady_timer file_timer_;
  boost::asio::steady_timer sample_timer_;
  std::optional<StreamState> last_sample_;
  std::optional<std::uint64_t> group_lag_, group_pending_;
  std::string last_file_error_;
  bool sampling_ = false;
  bool finished_ = false;
  // A sample that completes after the publisher is gone does nothing.
  std::shared_ptr<char> alive_ = std::make_shared<char>();
};

}  // namespace streamckpt::cli
