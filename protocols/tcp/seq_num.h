// Strong types for TCP's arithmetic (RFC 9293 3.4): sequence numbers compared
// modulo 2^32, window sizes and the window-scale shift (RFC 7323 2.2). Pure
// values; never allocate.
#ifndef RINGSTACK_PROTOCOLS_TCP_SEQ_NUM_H_
#define RINGSTACK_PROTOCOLS_TCP_SEQ_NUM_H_

#include <cstdint>
#include <string>

namespace ringstack::proto::tcp {

// RFC 9293 3.4: "the sequence number space ... ranges from 0 to 2^32 - 1 ...
// all arithmetic dealing with sequence numbers must be performed modulo
// 2^32". a.Before(b) holds when b is up to 2^31 - 1 ahead of a.
class SeqNum {
 public:
  constexpr SeqNum() = default;
  constexpr explicit SeqNum(std::uint32_t v) : v_(v) {}
  constexpr std::uint32_t value() const { return v_; }

  constexpr SeqNum operator+(std::uint32_t n) const { return SeqNum(v_ + n); }
  constexpr SeqNum operator-(std::uint32_t n) const { return SeqNum(v_ - n); }
  constexpr SeqNum& operator+=(std::uint32_t n) {
    v_ += n;
    return *this;
  }
  // The signed distance from `b` to this (this - b), for numbers within
  // 2^31 of each other.
  constexpr std::int32_t operator-(SeqNum b) const { return static_cast<std::int32_t>(v_ - b.v_); }
  constexpr bool operator==(const SeqNum&) const = default;

  constexpr bool Before(SeqNum b) const { return *this - b < 0; }
  constexpr bool BeforeOrAt(SeqNum b) const { return *this - b <= 0; }
  constexpr bool After(SeqNum b) const { return *this - b > 0; }
  constexpr bool AfterOrAt(SeqNum b) const { return *this - b >= 0; }
  // start <= this < start + size (an empty window holds nothing).
  constexpr bool InWindow(SeqNum start, std::uint32_t size) const {
    return static_cast<std::uint32_t>(v_ - start.v_) < size;
  }
  // The later / earlier of two numbers.
  static constexpr SeqNum Max(SeqNum a, SeqNum b) { return a.After(b) ? a : b; }
  static constexpr SeqNum Min(SeqNum a, SeqNum b) { return a.Before(b) ? a : b; }

  std::string ToString() const { return std::to_string(v_); }

 private:
  std::uint32_t v_ = 0;
};

// RFC 7323 2.2: the shift count, 0..14 (a larger one is used as 14, 2.3).
class WindowScale {
 public:
  static constexpr std::uint8_t kMax = 14;
  constexpr WindowScale() = default;
  constexpr explicit WindowScale(std::uint8_t shift) : shift_(shift > kMax ? kMax : shift) {}
  constexpr std::uint8_t shift() const { return shift_; }
  constexpr bool operator==(const WindowScale&) const = default;

 private:
  std::uint8_t shift_ = 0;
};

// A window in bytes (after scaling), and its 16-bit wire field.
class WindowSize {
 public:
  static constexpr std::uint32_t kMax = 0xffffu << WindowScale::kMax;  // RFC 7323 2.3: < 2^30
  constexpr WindowSize() = default;
  constexpr explicit WindowSize(std::uint32_t bytes) : bytes_(bytes > kMax ? kMax : bytes) {}
  constexpr std::uint32_t bytes() const { return bytes_; }
  // The received field shifted by the peer's scale.
  static constexpr WindowSize FromField(std::uint16_t field, WindowScale scale) {
    return WindowSize(static_cast<std::uint32_t>(field) << scale.shift());
  }
  // The field to send: scaled down (rounding down, never offering more than
  // there is), capped at 0xffff.
  constexpr std::uint16_t ToField(WindowScale scale) const {
    const std::uint32_t f = bytes_ >> scale.shift();
    return static_cast<std::uint16_t>(f > 0xffffu ? 0xffffu : f);
  }
  constexpr bool operator==(const WindowSize&) const = default;

 private:
  std::uint32_t bytes_ = 0;
};

}  // namespace ringstack::proto::tcp

#endif  // RINGSTACK_PROTOCOLS_TCP_SEQ_NUM_H_
