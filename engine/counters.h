// Counters: named event counts, one writer each, readable from any thread.
//
// A Counter is written only by the thread that owns its stage, so Inc() is a
// relaxed load and store (no locked read-modify-write on the data path);
// readers see a value that is at most momentarily stale. A CounterSet hands
// out counters with stable addresses, or lists counters kept in a layer's
// own struct (RegisterCounters), by name; each also remembers the scope it
// was registered under (the stage or shard that writes it: "rx", "w0",
// "tx", ...), so readers can sum by name or split by scope.
#ifndef RINGSTACK_ENGINE_COUNTERS_H_
#define RINGSTACK_ENGINE_COUNTERS_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

#include "absl/functional/function_ref.h"

namespace ringstack::engine {

class Counter {
 public:
  void Inc(std::uint64_t n = 1) {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  // For a counter with several writers (a link's TX counters under
  // --tx-inline): an atomic add.
  void IncShared(std::uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> v_{0};
};

class CounterSet {
 public:
  // Registration happens while stages are built, before threads start.
  // Counters added from now on belong to `scope`.
  void SetScope(std::string scope) { scope_ = std::move(scope); }
  Counter& Add(std::string name) {
    entries_.emplace_back();
    entries_.back().name = std::move(name);
    entries_.back().scope = scope_;
    return entries_.back().counter;
  }
  // A counter that lives elsewhere (a layer's counter struct, which must
  // outlive this set's readers), listed under `name`.
  void Register(std::string name, const Counter& c) {
    entries_.emplace_back();
    entries_.back().name = std::move(name);
    entries_.back().scope = scope_;
    entries_.back().external = &c;
  }
  void ForEach(absl::FunctionRef<void(std::string_view, std::uint64_t)> fn) const {
    for (const auto& e : entries_) fn(e.name, e.value());
  }
  // name, scope, value, in registration order.
  void ForEachScoped(absl::FunctionRef<void(std::string_view, std::string_view, std::uint64_t)> fn) const {
    for (const auto& e : entries_) fn(e.name, e.scope, e.value());
  }
  // 0 when no counter has that name.
  std::uint64_t Get(std::string_view name) const {
    std::uint64_t sum = 0;
    for (const auto& e : entries_) {
      if (e.name == name) sum += e.value();
    }
    return sum;
  }

 private:
  struct Entry {
    std::string name;
    std::string scope;
    Counter counter;
    const Counter* external = nullptr;
    std::uint64_t value() const { return (external != nullptr ? *external : counter).value(); }
  };
  std::deque<Entry> entries_;
  std::string scope_;
};

// A layer's counters are a plain struct of Counters; one table of (exported
// name, member) per struct names them for the console, Prometheus and the
// counters file.
template <typename Stats>
struct CounterField {
  std::string_view name;
  Counter Stats::*member;
};

template <typename Stats, std::size_t N>
void RegisterCounters(CounterSet& set, const Stats& stats, const CounterField<Stats> (&fields)[N]) {
  for (const CounterField<Stats>& f : fields) set.Register(std::string(f.name), stats.*(f.member));
}

}  // namespace ringstack::engine

#endif  // RINGSTACK_ENGINE_COUNTERS_H_
