// Instant and Duration: the time values protocols take as `now`. protocols/
// never reads a clock; the engine passes the time in (real or virtual).
#ifndef RINGSTACK_PROTOCOLS_COMMON_TIME_H_
#define RINGSTACK_PROTOCOLS_COMMON_TIME_H_

#include <compare>
#include <cstdint>
#include <limits>

namespace ringstack::proto {

class Duration {
 public:
  constexpr Duration() = default;
  static constexpr Duration Nanos(std::int64_t n) { return Duration(n); }
  static constexpr Duration Micros(std::int64_t n) { return Duration(n * 1000); }
  static constexpr Duration Millis(std::int64_t n) { return Duration(n * 1'000'000); }
  static constexpr Duration Seconds(std::int64_t n) { return Duration(n * 1'000'000'000); }
  static constexpr Duration Infinite() { return Duration(std::numeric_limits<std::int64_t>::max()); }
  constexpr std::int64_t nanos() const { return ns_; }
  constexpr std::int64_t millis() const { return ns_ / 1'000'000; }
  constexpr Duration operator+(Duration o) const { return Duration(ns_ + o.ns_); }
  constexpr Duration operator-(Duration o) const { return Duration(ns_ - o.ns_); }
  constexpr Duration operator*(std::int64_t k) const { return Duration(ns_ * k); }
  constexpr auto operator<=>(const Duration&) const = default;

 private:
  constexpr explicit Duration(std::int64_t ns) : ns_(ns) {}
  std::int64_t ns_ = 0;
};

// A point on the engine's monotonic clock, in nanoseconds from its epoch.
class Instant {
 public:
  constexpr Instant() = default;
  static constexpr Instant FromNanos(std::int64_t n) { return Instant(n); }
  static constexpr Instant Never() { return Instant(std::numeric_limits<std::int64_t>::max()); }
  constexpr std::int64_t nanos() const { return ns_; }
  constexpr bool IsNever() const { return ns_ == std::numeric_limits<std::int64_t>::max(); }
  constexpr Instant operator+(Duration d) const {
    if (IsNever() || d == Duration::Infinite()) return Never();
    return Instant(ns_ + d.nanos());
  }
  constexpr Duration operator-(Instant o) const { return Duration::Nanos(ns_ - o.ns_); }
  constexpr auto operator<=>(const Instant&) const = default;

 private:
  constexpr explicit Instant(std::int64_t ns) : ns_(ns) {}
  std::int64_t ns_ = 0;
};

}  // namespace ringstack::proto

#endif  // RINGSTACK_PROTOCOLS_COMMON_TIME_H_
