#include "engine/link/impair.h"

#include <charconv>
#include <cstring>
#include <optional>
#include <span>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "protocols/common/bytes.h"
#include "protocols/common/checksum.h"

namespace ringstack::engine {
namespace {

absl::StatusOr<Duration> ParseDuration(absl::string_view key, absl::string_view v) {
  std::int64_t scale = 1'000'000;  // bare numbers are milliseconds
  if (absl::ConsumeSuffix(&v, "us")) {
    scale = 1'000;
  } else if (absl::ConsumeSuffix(&v, "ms")) {
    scale = 1'000'000;
  } else if (absl::ConsumeSuffix(&v, "s")) {
    scale = 1'000'000'000;
  }
  std::int64_t n;
  if (!absl::SimpleAtoi(v, &n) || n < 0 || n > 60'000'000) {
    return absl::InvalidArgumentError(
        absl::StrCat("--impair: ", key, " wants a duration like 5ms, 200us or 1s"));
  }
  return Duration::Nanos(n * scale);
}

absl::StatusOr<ImpairConfig::CeDir> ParseCeDir(absl::string_view v) {
  if (v == "rx") return ImpairConfig::CeDir::kRx;
  if (v == "tx") return ImpairConfig::CeDir::kTx;
  if (v == "both") return ImpairConfig::CeDir::kBoth;
  return absl::InvalidArgumentError(
      absl::StrCat("--impair: ce_dir wants rx (frames received), tx (frames sent) or both, got '", v, "'"));
}

}  // namespace

absl::StatusOr<ImpairConfig> ImpairConfig::Parse(absl::string_view spec) {
  ImpairConfig c;
  if (spec.empty() || spec == "none") return c;
  for (absl::string_view item : absl::StrSplit(spec, ',')) {
    const auto eq = item.find('=');
    if (eq == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("--impair: '", item, "' is not key=value"));
    }
    const absl::string_view key = item.substr(0, eq);
    const absl::string_view value = item.substr(eq + 1);
    double* prob = key == "loss" ? &c.loss
                   : key == "dup" ? &c.dup
                   : key == "reorder" ? &c.reorder
                   : key == "corrupt" ? &c.corrupt
                   : key == "ce" ? &c.ce
                                      : nullptr;
    if (prob != nullptr) {
      if (!absl::SimpleAtod(value, prob) || !(*prob >= 0.0 && *prob <= 1.0)) {
        return absl::InvalidArgumentError(
            absl::StrCat("--impair: ", key, " wants a probability in [0, 1], got '", value, "'"));
      }
    } else if (key == "delay" || key == "reorder_delay") {
      auto d = ParseDuration(key, value);
      if (!d.ok()) return d.status();
      (key == "delay" ? c.delay : c.reorder_delay) = *d;
    } else if (key == "ce_dir") {
      auto d = ParseCeDir(value);
      if (!d.ok()) return d.status();
      c.ce_dir = *d;
    } else if (key == "burst") {
      if (!absl::SimpleAtoi(value, &c.burst) || c.burst < 1 || c.burst > 1000) {
        return absl::InvalidArgumentError(absl::StrCat("--impair: burst wants a frame count in [1, 1000], got '",
                                                       value, "'"));
      }
    } else if (key == "rate") {
      absl::string_view v = value;
      std::uint64_t unit = 1;
      if (absl::ConsumeSuffix(&v, "gbit")) {
        unit = 1'000'000'000;
      } else if (absl::ConsumeSuffix(&v, "mbit")) {
        unit = 1'000'000;
      } else if (absl::ConsumeSuffix(&v, "kbit")) {
        unit = 1'000;
      }
      if (!absl::SimpleAtoi(v, &c.rate) || c.rate == 0 || c.rate > 1'000'000) {
        return absl::InvalidArgumentError(
            absl::StrCat("--impair: rate wants bits per second like 100mbit, 1gbit or 500kbit, got '", value, "'"));
      }
      c.rate *= unit;
    } else if (key == "queue") {
      absl::string_view v = value;
      std::uint64_t unit = 1;
      if (absl::ConsumeSuffix(&v, "K")) {
        unit = 1024;
      } else if (absl::ConsumeSuffix(&v, "M")) {
        unit = 1024 * 1024;
      }
      if (!absl::SimpleAtoi(v, &c.queue) || c.queue == 0 || c.queue > 1024) {
        return absl::InvalidArgumentError(
            absl::StrCat("--impair: queue wants a size like 256K or 1M (at most 1024 of the unit), got '", value, "'"));
      }
      c.queue *= unit;
    } else if (key == "seed") {
      if (!absl::SimpleAtoi(value, &c.seed)) {
        return absl::InvalidArgumentError(absl::StrCat("--impair: seed wants an integer, got '", value, "'"));
      }
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "--impair: unknown key '", key,
          "' (known: loss, dup, reorder, corrupt, ce, ce_dir, delay, reorder_delay, burst, seed; rate, queue in "
          "simulations)"));
    }
  }
  return c;
}

std::string ImpairConfig::ToString() const {
  std::string s = absl::StrFormat("loss=%g,dup=%g,reorder=%g,corrupt=%g,delay=%dus,burst=%d,rate=%u,queue=%u,seed=%u",
                                  loss, dup, reorder, corrupt, delay.nanos() / 1000, burst, rate, queue, seed);
  if (ce > 0) {
    absl::StrAppend(&s, absl::StrFormat(",ce=%g,ce_dir=%s", ce,
                                        ce_dir == CeDir::kRx   ? "rx"
                                        : ce_dir == CeDir::kTx ? "tx"
                                                               : "both"));
  }
  return s;
}

namespace {

constexpr std::size_t kEthHeader = 14;

// Where the frame's IP header begins and whether it is IPv6; nullopt for
// anything else (or too short to hold the field).
std::optional<std::pair<std::size_t, bool>> IpAt(std::span<const std::byte> frame) {
  if (frame.size() < kEthHeader + 2) return std::nullopt;
  const std::uint16_t type = proto::LoadBe16(frame.data() + 12);
  if (type == 0x0800 && frame.size() >= kEthHeader + 20 && (std::to_integer<unsigned>(frame[kEthHeader]) >> 4) == 4) {
    return std::make_pair(kEthHeader, false);
  }
  if (type == 0x86dd && frame.size() >= kEthHeader + 40) return std::make_pair(kEthHeader, true);
  return std::nullopt;
}

unsigned EcnBits(std::span<const std::byte> frame, std::size_t ip, bool v6) {
  // IPv4: the low two bits of the TOS octet; IPv6: of the Traffic Class,
  // which straddles the first two octets (version 4 bits, class 8).
  return v6 ? (std::to_integer<unsigned>(frame[ip + 1]) >> 4) & 3u : std::to_integer<unsigned>(frame[ip + 1]) & 3u;
}

}  // namespace

bool IsEct(std::span<const std::byte> frame) {
  const auto at = IpAt(frame);
  if (!at) return false;
  const unsigned ecn = EcnBits(frame, at->first, at->second);
  return ecn == 1 || ecn == 2;
}

bool MarkCe(std::span<std::byte> frame) {
  if (!IsEct(frame)) return false;
  const auto [ip, v6] = *IpAt(frame);
  if (v6) {
    frame[ip + 1] |= std::byte{0x30};
    return true;
  }
  // The header checksum follows the 16-bit word holding the TOS octet
  // (RFC 1624).
  const std::uint16_t old_word = proto::LoadBe16(frame.data() + ip);
  frame[ip + 1] |= std::byte{0x03};
  proto::StoreBe16(frame.data() + ip + 10, proto::ChecksumAdjust(proto::LoadBe16(frame.data() + ip + 10), old_word,
                                                                 proto::LoadBe16(frame.data() + ip)));
  return true;
}

std::uint64_t Impairer::NextU64() {
  std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

Impairer::Decision Impairer::Next(std::size_t frame_len) {
  Decision d;
  // Draw every variate every time so one setting does not shift the others'
  // sequences: the same seed gives the same losses whatever dup is.
  const double u_loss = NextUnit();
  const double u_dup = NextUnit();
  const double u_reorder = NextUnit();
  const double u_corrupt = NextUnit();
  const std::uint64_t r = NextU64();
  // Drawn only when marking is on: a spec without `ce` keeps the sequences
  // it had before marks existed.
  d.ce = config_.ce > 0 && NextUnit() < config_.ce;
  d.delay = config_.delay;
  if (burst_left_ > 0) {
    --burst_left_;
    d.drop = true;
    ++dropped_;
    return d;
  }
  if (u_loss < config_.loss / config_.burst) {
    burst_left_ = config_.burst - 1;
    d.drop = true;
    ++dropped_;
    return d;
  }
  if (u_dup < config_.dup) {
    d.duplicate = true;
    ++duplicated_;
  }
  if (u_reorder < config_.reorder) {
    d.delay = d.delay + config_.reorder_delay;
    d.reorder = true;
    ++reordered_;
  }
  if (u_corrupt < config_.corrupt && frame_len > 0) {
    d.corrupt = true;
    d.corrupt_offset = static_cast<std::size_t>(r % frame_len);
    d.corrupt_mask = static_cast<std::uint8_t>(1u << ((r >> 32) % 8));
    ++corrupted_;
  }
  return d;
}

ImpairedLink::ImpairedLink(std::unique_ptr<Link> inner, const ImpairConfig& config,
                           rings::PacketPool& pool, const Clock& clock, CounterSet& counters)
    : inner_(std::move(inner)),
      impairer_(config),
      pool_(pool),
      clock_(clock),
      dropped_(counters.Add("impair_dropped")),
      duplicated_(counters.Add("impair_duplicated")),
      reordered_(counters.Add("impair_reordered")),
      corrupted_(counters.Add("impair_corrupted")),
      dropped_at_stop_(counters.Add("impair_dropped_at_stop")),
      tx_impairer_([&] {
        ImpairConfig tx = config;
        tx.seed = config.seed ^ 0x5eed7a5eedull;
        return tx;
      }()),
      tx_dropped_(counters.Add("impair_tx_dropped")),
      tx_duplicated_(counters.Add("impair_tx_duplicated")),
      tx_reordered_(counters.Add("impair_tx_reordered")),
      ce_marked_(counters.Add("impair_ce_marked")),
      tx_ce_marked_(counters.Add("impair_tx_ce_marked")),
      ce_rx_(config.ce_rx()),
      ce_tx_(config.ce_tx()) {}

SendResult ImpairedLink::Send(const rings::Packet& sent) {
  const Impairer::Decision d = tx_impairer_.Next(sent.size());
  if (d.drop) {
    tx_dropped_.Inc();
    return SendResult::kSent;  // lost on the wire
  }
  // A CE mark changes the frame: a copy is marked (the engine's is const).
  rings::Packet marked;
  if (d.ce && ce_tx_ && IsEct(sent.data())) {
    marked = pool_.Get(sent.buffer_class());
    const auto room = marked ? marked.Append(sent.size()) : std::span<std::byte>();
    if (room.size() == sent.size()) {
      std::memcpy(room.data(), sent.data().data(), sent.size());
      marked.offload() = sent.offload();
      MarkCe(marked.data());
      tx_ce_marked_.Inc();
    } else {
      marked = rings::Packet();
    }
  }
  const rings::Packet& frame = marked ? marked : sent;
  if (d.reorder && !tx_holding_) {
    tx_held_.assign(frame.data().begin(), frame.data().end());
    tx_held_offload_ = frame.offload();
    tx_holding_ = true;
    tx_reordered_.Inc();
    return SendResult::kSent;  // goes after the next frame
  }
  const SendResult r = inner_->Send(frame);
  if (r == SendResult::kSent && tx_holding_) {
    tx_holding_ = false;
    rings::Packet held = pool_.Get(frame.buffer_class());
    const auto room = held ? held.Append(tx_held_.size()) : std::span<std::byte>();
    if (room.size() == tx_held_.size()) {
      std::memcpy(room.data(), tx_held_.data(), tx_held_.size());
      held.offload() = tx_held_offload_;
      (void)inner_->Send(held);
    }
  }
  if (r == SendResult::kSent && d.duplicate) {
    tx_duplicated_.Inc();
    (void)inner_->Send(frame);
  }
  return r;
}

void ImpairedLink::Hold(Instant due, rings::Packet frame) {
  auto it = held_.end();
  while (it != held_.begin() && std::prev(it)->due > due) --it;
  held_.insert(it, Held{due, std::move(frame)});
}

bool ImpairedLink::TakeDue(rings::Packet& into) {
  if (held_.empty() || held_.front().due > clock_.Now()) return false;
  into = std::move(held_.front().frame);
  held_.pop_front();
  return true;
}

bool ImpairedLink::Receive(rings::Packet& into, bool& oversize) {
  if (TakeDue(into)) return true;
  for (;;) {
    if (!inner_->Receive(into, oversize)) return false;
    const Impairer::Decision d = impairer_.Next(into.size());
    if (d.drop) {
      dropped_.Inc();
      continue;
    }
    if (d.corrupt) {
      into.data()[d.corrupt_offset] ^= std::byte{d.corrupt_mask};
      // Bits flipped on the wire: no host vouches for this checksum now.
      into.offload().csum_trusted = false;
      corrupted_.Inc();
    }
    if (d.ce && ce_rx_ && MarkCe(into.data())) ce_marked_.Inc();
    if (d.reorder) reordered_.Inc();
    if (d.duplicate) {
      duplicated_.Inc();
      rings::Packet copy = pool_.Get(into.buffer_class());
      if (copy) {
        auto room = copy.ResetForReceive();
        std::memcpy(room.data(), into.data().data(), into.size());
        copy.SetSize(into.size());
        copy.offload() = into.offload();
        Hold(clock_.Now() + d.delay, std::move(copy));
      }
    }
    if (d.delay > Duration() && held_.size() < kMaxHeld) {
      const rings::BufferClass cls = into.buffer_class();
      Hold(clock_.Now() + d.delay, std::move(into));
      into = pool_.Get(cls);
      if (!into) return false;
      if (TakeDue(into)) return true;
      continue;
    }
    return true;
  }
}

void ImpairedLink::DropHeld() {
  dropped_at_stop_.Inc(held_.size());
  held_.clear();  // handles return their buffers
  inner_->DropHeld();
}

Instant ImpairedLink::NextDeadline() const {
  return held_.empty() ? inner_->NextDeadline() : std::min(held_.front().due, inner_->NextDeadline());
}

std::string ImpairedLink::Describe() const {
  return absl::StrCat(inner_->Describe(), " impaired(", impairer_.dropped(), " dropped)");
}

}  // namespace ringstack::engine
