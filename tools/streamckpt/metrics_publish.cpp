#include "metrics_publish.hpp"

#include <streamckpt/stream_sampler.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace streamckpt::cli {

namespace asio = boost::asio;

namespace {

constexpr std::chrono::seconds k_sample_interval{1};
// node_exporter runs as a user of its own: the file is for it to read.
constexpr mode_t k_metrics_file_mode = 0644;

std::string write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const auto n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::strerror(errno);
    done += static_cast<std::size_t>(n);
  }
  return {};
}

}  // namespace

MetricsPublisher::MetricsPublisher(asio::io_context& io, MetricsPublishing publishing, const ConsumerOptions& options,
                                   std::function<MetricsView()> view)
    : io_(io),
      publishing_(std::move(publishing)),
      view_(std::move(view)),
      stream_(options.key.stream),
      group_(options.key.group),
      file_timer_(io),
      sample_timer_(io) {
  if (!enabled()) return;
  sampler_ = std::make_unique<StreamSampler>(io.get_executor(), options);
}

MetricsPublisher::~MetricsPublisher() = default;

std::string MetricsPublisher::begin() {
  if (!enabled()) return {};
  if (publishing_.listen) {
    server_ = std::make_unique<MetricsServer>(io_, [this] { return render(); });
    if (auto error = server_->listen(*publishing_.listen); !error.empty())
      return fmt::format("--metrics-listen: {}", error);
    const auto at = server_->local_endpoint();
    fmt::print(stderr, "streamckpt: serving metrics on http://{}{}{}:{}/metrics\n", at.address().is_v6() ? "[" : "",
               at.address().to_string(), at.address().is_v6() ? "]" : "", at.port());
  }
  if (!publishing_.file.empty()) {
    if (auto error = write_file(); !error.empty()) return error;
    schedule_file();
  }
  if (sampler_) schedule_sample();
  return {};
}

void MetricsPublisher::finish() {
  if (finished_ || !enabled()) return;
  finished_ = true;
  file_timer_.cancel();
  sample_timer_.cancel();
  if (sampler_) sampler_->close();
  if (server_) server_->close();
  if (!publishing_.file.empty())
    if (auto error = write_file(); !error.empty()) fmt::print(stderr, "streamckpt: {}\n", error);
}

std::string MetricsPublisher::render() const {
  auto v = view_();
  if (last_sample_ && v.started) {
    const auto& s = *last_sample_;
    if (s.counts_known) v.lag_entries = s.entries_added - std::min(s.entries_added, v.consumer.entries_seen);
    v.lag_seconds =
        v.checkpoint < s.last_generated
            ? static_cast<double>(s.last_generated.ms() - std::min(s.last_generated.ms(), v.checkpoint.ms())) / 1e3
            : 0.0;
  }
  v.group_lag_entries = group_lag_;
  v.group_pending_entries = group_pending_;
  return prometheus_text(v);
}

void MetricsPublisher::schedule_file() {
  file_timer_.expires_after(publishing_.file_interval);
  file_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || finished_) return;
    auto error = write_file();
    // Said once per distinct failure, and when it is written again.
    if (error != last_file_error_) {
      fmt::print(stderr, "streamckpt: {}\n", error.empty() ? "--metrics-file is written again" : error);
      last_file_error_ = error;
    }
    schedule_file();
  });
}

// A scrape of the file never sees half of it: the text goes to a temporary
// file beside it (not *.prom, which the collector would read), then replaces
// it in one rename.
std::string MetricsPublisher::write_file() const {
  const auto& path = publishing_.file;
  const auto temporary = path + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, k_metrics_file_mode);
  if (fd < 0) return fmt::format("cannot write --metrics-file {}: {}", path, std::strerror(errno));
  auto error = write_all(fd, render());
  if (error.empty() && ::fchmod(fd, k_metrics_file_mode) != 0) error = std::strerror(errno);
  ::close(fd);
  if (error.empty() && ::rename(temporary.c_str(), path.c_str()) != 0) error = std::strerror(errno);
  if (!error.empty()) {
    ::unlink(temporary.c_str());
    return fmt::format("cannot write --metrics-file {}: {}", path, error);
  }
  return {};
}

void MetricsPublisher::schedule_sample() {
  sample_timer_.expires_after(sampling_ ? k_sample_interval : std::chrono::seconds{0});
  sample_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || finished_) return;
    sampling_ = true;
    view_();  // notes whether the checkpoint moved, for its age
    // Failures are quiet: the consumer's own connections report Redis's
    // state; the lag stays at its last sample.
    sampler_->async_sample([this, alive = std::weak_ptr(alive_)](boost::system::error_code e, StreamSample sample) {
      if (alive.expired() || finished_) return;
      if (!e && sample.stream.exists) last_sample_ = sample.stream;
      if (!e && sample.group_pending) {
        group_lag_ = sample.group_lag;
        group_pending_ = sample.group_pending;
      }
      schedule_sample();
    });
  });
}

}  // namespace streamckpt::cli
