// ThreadReplicas: N replicas of data-parallel training simulated in one process, one thread each,
// for the core suite (no MPI). Each replica is an nn::ReplicaGroup whose collectives meet at a
// mutex + condition-variable rendezvous and combine the contributions in rank order, so every
// replica gets the same bits (as the nn::ReplicaGroup contract requires). The threads share the
// test Context (a Context may be used from several threads; each thread uses its own tensors and
// command lists). Catch's assertions are not thread-safe: bodies store what they computed and the
// test checks it after run() returns.
#pragma once

#include <condition_variable>
#include <cstring>
#include <exception>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include <vkgrad/nn/replica.hpp>

namespace vkgrad::test {

class ThreadReplicas {
 public:
  explicit ThreadReplicas(int size) : size_(size), slots_(static_cast<std::size_t>(size)) {
    for (int r = 0; r < size; ++r) groups_.emplace_back(*this, r);
  }

  int size() const { return size_; }
  /// The group object of replica `rank`.
  nn::ReplicaGroup& group(int rank) { return groups_.at(static_cast<std::size_t>(rank)); }

  /// Runs body(rank, group) on `size` threads at once and waits for them. When a body throws, the
  /// replicas waiting in a collective are released (they throw too) and the first exception is
  /// rethrown here, so a failing replica never hangs the test.
  void run(const std::function<void(int, nn::ReplicaGroup&)>& body) {
    std::vector<std::thread> threads;
    std::vector<std::exception_ptr> errors(static_cast<std::size_t>(size_));
    for (int r = 0; r < size_; ++r) {
      threads.emplace_back([&, r] {
        try {
          body(r, group(r));
        } catch (...) {
          errors[static_cast<std::size_t>(r)] = std::current_exception();
          std::lock_guard lock(mutex_);
          failed_ = true;
          cv_.notify_all();
        }
      });
    }
    for (auto& t : threads) t.join();
    for (auto& e : errors) {
      if (e) std::rethrow_exception(e);
    }
  }

  /// Collectives made so far (allreduce, allgather and broadcast calls, counted once per round).
  int rounds() const { return rounds_; }

 private:
  // The rendezvous: every replica's `data`, concatenated in rank order.
  std::vector<float> exchange(int rank, const float* data, std::size_t n) {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return readers_ == 0 || failed_; });  // the previous round is read
    if (failed_) throw std::runtime_error("another replica failed");
    slots_[static_cast<std::size_t>(rank)].assign(data, data + n);
    const uint64_t generation = generation_;
    if (++arrived_ == size_) {
      result_.clear();
      for (const auto& s : slots_) {
        if (s.size() != n) {
          failed_ = true;
          cv_.notify_all();
          throw std::runtime_error("replicas passed different sizes to a collective");
        }
        result_.insert(result_.end(), s.begin(), s.end());
      }
      arrived_ = 0;
      readers_ = size_;
      ++generation_;
      ++rounds_;
      cv_.notify_all();
    } else {
      cv_.wait(lock, [&] { return generation_ != generation || failed_; });
      if (generation_ == generation) throw std::runtime_error("another replica failed");
    }
    std::vector<float> out = result_;
    if (--readers_ == 0) cv_.notify_all();
    return out;
  }

  class Group : public nn::ReplicaGroup {
   public:
    Group(ThreadReplicas& hub, int rank) : hub_(&hub), rank_(rank) {}
    int rank() const override { return rank_; }
    int size() const override { return hub_->size_; }
    void allreduce_sum(std::span<float> data) override {
      const auto all = hub_->exchange(rank_, data.data(), data.size());
      for (std::size_t i = 0; i < data.size(); ++i) {
        float sum = 0;
        for (int r = 0; r < hub_->size_; ++r) sum += all[static_cast<std::size_t>(r) * data.size() + i];
        data[i] = sum;
      }
    }
    std::vector<float> allgather(std::span<const float> data) override {
      return hub_->exchange(rank_, data.data(), data.size());
    }
    void broadcast(std::span<uint8_t> data, int root) override {
      // Bytes travel as floats, one each (exact).
      std::vector<float> mine(data.begin(), data.end());
      const auto all = hub_->exchange(rank_, mine.data(), mine.size());
      for (std::size_t i = 0; i < data.size(); ++i) {
        data[i] = static_cast<uint8_t>(all[static_cast<std::size_t>(root) * data.size() + i]);
      }
    }

   private:
    ThreadReplicas* hub_;
    int rank_;
  };

  int size_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::vector<float>> slots_;
  std::vector<float> result_;
  int arrived_ = 0, readers_ = 0, rounds_ = 0;
  uint64_t generation_ = 0;
  bool failed_ = false;
  std::vector<Group> groups_;
};

}  // namespace vkgrad::test
