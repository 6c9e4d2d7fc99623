#include "protocols/ipv4/ipv4_reassembly.h"

#include <algorithm>
#include <cstring>

namespace ringstack::proto::ipv4 {
namespace {

// RFC 791: total length is 16 bits, so a payload ends at most here.
constexpr std::uint32_t kMaxPayloadEnd = 65535 - kMinHeaderLen;

}  // namespace

bool Ipv4Reassembler::Covered(const std::vector<Range>& ranges, std::uint32_t begin, std::uint32_t end) {
  for (const Range& r : ranges) {
    if (r.begin <= begin && end <= r.end) return true;
  }
  return false;
}

void Ipv4Reassembler::Erase(absl::flat_hash_map<Key, Datagram>::iterator it) {
  const std::size_t held = it->second.data.size();
  total_bytes_ -= held;
  auto src = bytes_per_source_.find(it->first.src);
  if (src != bytes_per_source_.end()) {
    src->second -= held;
    if (src->second == 0) bytes_per_source_.erase(src);
  }
  datagrams_.erase(it);
}

void Ipv4Reassembler::TrimAge() {
  auto live = [this](const std::pair<Key, std::uint64_t>& e) {
    const auto it = datagrams_.find(e.first);
    return it != datagrams_.end() && it->second.serial == e.second;
  };
  while (!age_.empty() && !live(age_.front())) age_.pop_front();
  if (age_.size() > 2 * datagrams_.size() + 64) {
    std::erase_if(age_, [&](const auto& e) { return !live(e); });
  }
}

bool Ipv4Reassembler::MakeRoom(const Key& keep, std::size_t need, bool new_datagram) {
  auto fits = [&] {
    return total_bytes_ + need <= config_.max_total_bytes &&
           (!new_datagram || datagrams_.size() < config_.max_datagrams);
  };
  TrimAge();
  std::size_t i = 0;
  while (!fits() && i < age_.size()) {
    const auto [key, serial] = age_[i];
    const auto it = datagrams_.find(key);
    if (it == datagrams_.end() || it->second.serial != serial || key == keep) {
      ++i;
      continue;
    }
    Erase(it);
    ++evicted_;
  }
  TrimAge();
  return fits();
}

Ipv4Reassembler::Outcome Ipv4Reassembler::OnFragment(const Ipv4Repr& ip, Bytes payload, Instant now) {
  Outcome out;
  const std::uint32_t begin = ip.frag_offset;
  const auto end = static_cast<std::uint32_t>(begin + payload.size());
  // RFC 791: every fragment but the last carries a multiple of 8 bytes.
  if (payload.empty() || (ip.mf && payload.size() % 8 != 0)) {
    out.status = Status::kDropped;
    out.drop = Drop::kBadLength;
    return out;
  }
  if (end > kMaxPayloadEnd) {
    out.status = Status::kDropped;
    out.drop = Drop::kTooLong;
    return out;
  }
  const Key key{ip.src.value(), ip.dst.value(), ip.ident, ip.protocol};
  auto it = datagrams_.find(key);
  if (it == datagrams_.end()) {
    // A new datagram: within the source's share, room made if need be.
    const auto src = bytes_per_source_.find(key.src);
    const std::size_t held = src == bytes_per_source_.end() ? 0 : src->second;
    if (held + end > config_.max_bytes_per_source || !MakeRoom(key, end, true)) {
      out.status = Status::kDropped;
      out.drop = Drop::kMemoryLimit;
      return out;
    }
    it = datagrams_.try_emplace(key).first;
    it->second.deadline = now + config_.timeout;
    it->second.serial = next_serial_++;
    age_.emplace_back(key, it->second.serial);
  }
  Datagram& d = it->second;

  // The end of the datagram: fixed by the last fragment, never exceeded.
  if ((d.have_last && (end > d.total || (!ip.mf && end != d.total))) ||
      (!ip.mf && !d.ranges.empty() && d.ranges.back().end > end)) {
    Erase(it);
    out.status = Status::kDropped;
    out.drop = Drop::kPastEnd;
    return out;
  }

  // Overlap: identical bytes are a duplicate; anything else poisons the datagram.
  bool overlaps = false;
  for (const Range& r : d.ranges) {
    const std::uint32_t lo = std::max(r.begin, begin);
    const std::uint32_t hi = std::min(r.end, end);
    if (lo >= hi) continue;
    overlaps = true;
    if (std::memcmp(d.data.data() + lo, payload.data() + (lo - begin), hi - lo) != 0) {
      Erase(it);
      out.status = Status::kDropped;
      out.drop = Drop::kOverlap;
      return out;
    }
  }
  if (overlaps && Covered(d.ranges, begin, end)) {
    out.status = Status::kDuplicate;
    return out;
  }

  // Memory bounds, charged by how far the buffer must grow.
  const std::size_t grow = end > d.data.size() ? end - d.data.size() : 0;
  if (grow != 0 && total_bytes_ + grow > config_.max_total_bytes) MakeRoom(key, grow, false);
  std::size_t& per_source = bytes_per_source_[key.src];
  if (total_bytes_ + grow > config_.max_total_bytes || per_source + grow > config_.max_bytes_per_source) {
    if (per_source == 0) bytes_per_source_.erase(key.src);
    if (d.ranges.empty()) {
      datagrams_.erase(it);  // nothing held yet
    } else {
      Erase(it);
    }
    out.status = Status::kDropped;
    out.drop = Drop::kMemoryLimit;
    return out;
  }
  if (grow != 0) {
    d.data.resize(end);
    total_bytes_ += grow;
    per_source += grow;
  }
  std::memcpy(d.data.data() + begin, payload.data(), payload.size());

  // Record and merge the range (ranges stay sorted and disjoint).
  d.ranges.push_back(Range{begin, end});
  std::sort(d.ranges.begin(), d.ranges.end(), [](const Range& a, const Range& b) { return a.begin < b.begin; });
  std::size_t w = 0;
  for (std::size_t r = 1; r < d.ranges.size(); ++r) {
    if (d.ranges[r].begin <= d.ranges[w].end) {
      d.ranges[w].end = std::max(d.ranges[w].end, d.ranges[r].end);
    } else {
      d.ranges[++w] = d.ranges[r];
    }
  }
  d.ranges.resize(w + 1);
  if (!ip.mf) {
    d.have_last = true;
    d.total = end;
  }
  if (begin == 0) {
    d.have_first = true;
    d.first_header = ip;
  }

  if (!(d.have_last && d.ranges.size() == 1 && d.ranges[0].begin == 0 && d.ranges[0].end == d.total)) {
    out.status = Status::kIncomplete;
    return out;
  }
  // Complete: hand out the payload and fragment zero's header, made whole.
  const std::size_t held = d.data.size();  // == d.total: nothing lies past the end
  completed_ = std::move(d.data);
  out.header = d.first_header;
  out.header.mf = false;
  out.header.frag_offset = 0;
  out.header.payload_len = static_cast<std::uint16_t>(d.total);
  total_bytes_ -= held;
  per_source -= held;
  if (per_source == 0) bytes_per_source_.erase(key.src);
  datagrams_.erase(it);
  out.status = Status::kComplete;
  out.payload = Bytes(completed_.data(), completed_.size());
  return out;
}

void Ipv4Reassembler::OnTimer(Instant now, absl::FunctionRef<void(const Expired&)> expired) {
  for (auto it = datagrams_.begin(); it != datagrams_.end();) {
    if (it->second.deadline > now) {
      ++it;
      continue;
    }
    Expired e{Ipv4Address(it->first.src), Ipv4Address(it->first.dst), it->first.protocol,
              it->first.ident, it->second.have_first};
    const Datagram& d = it->second;
    if (d.have_first) {
      e.first_header = d.first_header;
      // Fragment zero is there, so the first range starts at 0.
      const std::size_t n = d.ranges.empty() ? 0 : std::min<std::size_t>(8, d.ranges.front().end);
      std::copy_n(d.data.begin(), n, e.first_bytes.begin());
      e.first_bytes_len = n;
    }
    Erase(it++);
    expired(e);
  }
  TrimAge();
}

Instant Ipv4Reassembler::NextDeadline() const {
  // The oldest live datagram expires first (one timeout for all).
  for (const auto& [key, serial] : age_) {
    const auto it = datagrams_.find(key);
    if (it != datagrams_.end() && it->second.serial == serial) return it->second.deadline;
  }
  return Instant::Never();
}

}  // namespace ringstack::proto::ipv4
