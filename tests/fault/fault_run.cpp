#include "fault_run.hpp"

#include <doctest/doctest.h>

#include <csignal>
#include <stdexcept>
#include <thread>

namespace streamckpt::test {

bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

std::string port_of(FaultRun& run) { return std::to_string(run.proxy().port()); }

void wait_for_more(FaultRun& run, const std::string& needle, int more) {
  const int before = occurrences(run.cli().err(), needle);
  const bool seen =
      eventually([&] { return occurrences(run.cli().err(), needle) >= before + more || !run.cli().running(); });
  INFO("stderr: ", run.cli().err());
  REQUIRE_MESSAGE(seen, "no further '", needle, "' on stderr within the bound");
  REQUIRE(run.cli().running());
}

FaultRun::FaultRun(bool group, std::uint64_t seed)
    : client_(server_.port()), proxy_(server_.port(), seed), group_(group) {}

std::string FaultRun::hash_key() const {
  return std::string("streamckpt:{orders}:") + (group_ ? "billing" : "") + ":edge-7";
}

std::vector<std::string> FaultRun::identity_args() const {
  std::vector<std::string> a = {"--redis",    proxy_.url(), "--stream",   "orders",
                                "--consumer", "edge-7",     "--data-dir", (dir_.path() / "ckpt").string()};
  if (group_) {
    a.push_back("--group");
    a.push_back("billing");
  }
  return a;
}

void FaultRun::start(const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"consume"};
  const auto id = identity_args();
  args.insert(args.end(), id.begin(), id.end());
  args.push_back("--flush-ms");
  args.push_back("20");
  args.insert(args.end(), extra.begin(), extra.end());
  cli_ = std::make_unique<CliProcess>(args, dir_.path());
}

void FaultRun::wait_started() {
  const bool started =
      eventually([&] { return cli_->err().find("resume after") != std::string::npos || !cli_->running(); });
  INFO("stderr: ", cli_->err());
  REQUIRE(started);
  REQUIRE(cli_->running());
}

void FaultRun::produce(int count) {
  auto ids = client_.produce("orders", produced() + 1, count);
  ids_.insert(ids_.end(), ids.begin(), ids.end());
}

void FaultRun::produce_async(int count, int batch, std::chrono::milliseconds pause) {
  REQUIRE(!producer_);
  producer_ = std::make_unique<Producer>(server_.port(), "orders", produced() + 1, count, batch, pause);
}

void FaultRun::finish_producing() {
  if (!producer_) return;
  auto ids = producer_->join();
  producer_.reset();
  ids_.insert(ids_.end(), ids.begin(), ids.end());
}

std::size_t FaultRun::handled_so_far() const { return handled_numbers(cli_->out()).size(); }

void FaultRun::wait_all_handled() {
  finish_producing();
  const auto last = produced();
  const bool done = eventually([&] {
    const auto got = handled_numbers(cli_->out());
    return (!got.empty() && got.back() >= last) || !cli_->running();
  });
  INFO("stderr: ", cli_->err());
  INFO("ledger so far: ", exactly_once_in_order(handled_numbers(cli_->out()), last));
  REQUIRE_MESSAGE(done, "the sink did not reach entry ", last, " within the bound");
  REQUIRE(cli_->running());
  // With the link back, the XACKs catch up while running.
  if (group_) REQUIRE_MESSAGE(eventually([&] { return pending_count() == 0; }), "entries stay pending");
}

CliResult FaultRun::stop() {
  cli_->signal(SIGTERM);
  auto r = cli_->wait_for(30s);
  if (!r) {
    const auto killed = cli_->kill();
    INFO("stderr: ", killed.err);
    FAIL("the CLI did not exit within 30 s of SIGTERM (killed)");
  }
  return *r;
}

void FaultRun::check_clean_ledger(const CliResult& r) {
  INFO("stderr: ", r.err);
  REQUIRE(r.exit_code == 0);
  const auto total = produced();
  REQUIRE(total > 0);
  CHECK(exactly_once_in_order(handled_numbers(r.out), total) ==
        "each of the " + std::to_string(total) + " entries " + k_exactly_once);
  CHECK(mentions(r.err, "streamckpt: stopped after " + std::to_string(total) + " events; checkpoint " + ids_.back()));
  CHECK(hash_field("id") == ids_.back());
  if (group_) CHECK(pending_count() == 0);
}

// These two are polled: they throw (a test failure) instead of adding an
// assertion per poll.
long long FaultRun::pending_count() {
  auto r = client_.run({"XPENDING", "orders", "billing"});
  if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 || r->element[0]->type != REDIS_REPLY_INTEGER)
    throw std::runtime_error("unexpected XPENDING reply");
  return r->element[0]->integer;
}

std::vector<std::string> FaultRun::pending_ids() {
  auto r = client_.run({"XPENDING", "orders", "billing", "-", "+", "100000"});
  if (r->type != REDIS_REPLY_ARRAY) throw std::runtime_error("unexpected XPENDING reply");
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < r->elements; ++i) {
    const auto* e = r->element[i];
    if (e->type != REDIS_REPLY_ARRAY || e->elements < 1) throw std::runtime_error("unexpected XPENDING entry");
    ids.emplace_back(e->element[0]->str, e->element[0]->len);
  }
  return ids;
}

std::string FaultRun::hash_field(const std::string& field) {
  auto r = client_.run({"HGET", hash_key(), field});
  return r->type == REDIS_REPLY_STRING ? std::string(r->str, r->len) : std::string{};
}

}  // namespace streamckpt::test
