#include "engine/link/sim.h"

#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/doorbell.h"
#include "engine/link/vnet_hdr.h"

namespace ringstack::engine {

// One direction of the wire: frames in flight ordered by (due, sequence).
struct Direction {
  explicit Direction(const ImpairConfig& c) : impairer(c) {}
  mutable std::mutex mu;
  Impairer impairer;
  using InFlight = std::map<std::pair<Instant, std::uint64_t>, std::vector<std::byte>>;
  InFlight in_flight;
  // Delivered frames' map nodes, their buffers kept, for the next frames:
  // the wire allocates nothing once warm (tests count allocations through it).
  std::vector<InFlight::node_type> spare;
  std::uint64_t seq = 0;
  std::uint64_t sent = 0;
  std::uint64_t tail_dropped = 0;
  std::uint64_t queued = 0;        // frames the bottleneck took ...
  std::int64_t queue_wait_ns = 0;  // ... and the time they waited behind others, summed
  std::uint64_t ce_marked = 0;  // ECN-capable frames marked CE
  Duration extra_delay;         // a delay spike on top of the configured delay
  Instant busy_until;  // the bottleneck is sending until then (rate model)
  Doorbell* receiver = nullptr;
};

class SimWire {
 public:
  SimWire(const Clock& clock, const ImpairConfig& a_to_b, const ImpairConfig& b_to_a)
      : clock_(clock), dir_{Direction(a_to_b), Direction(b_to_a)}, rates_{a_to_b, b_to_a} {}

  // Direction `from` -> the other side.
  void Send(int from, std::span<const std::byte> bytes) {
    Direction& d = dir_[from];
    Doorbell* wake = nullptr;
    {
      std::lock_guard<std::mutex> lock(d.mu);
      ++d.sent;
      const Impairer::Decision dec = d.impairer.Next(bytes.size());
      if (dec.drop) return;
      const Instant now = clock_.Now();
      Instant due = now + dec.delay + d.extra_delay;
      if (const std::uint64_t rate = rates_[from].rate; rate != 0) {
        // A bottleneck: the frame waits for those before it, unless the
        // queue (what is still to be sent, in bytes) is full: dropped.
        const Instant start = d.busy_until > now ? d.busy_until : now;
        const auto backlog = static_cast<std::uint64_t>(
            static_cast<double>((start - now).nanos()) * static_cast<double>(rate) / 8e9);
        if (rates_[from].queue != 0 && backlog + bytes.size() > rates_[from].queue) {
          ++d.tail_dropped;
          return;
        }
        ++d.queued;
        d.queue_wait_ns += (start - now).nanos();
        d.busy_until = start + Duration::Nanos(static_cast<std::int64_t>(
                                   static_cast<double>(bytes.size()) * 8e9 / static_cast<double>(rate)));
        due = d.busy_until + dec.delay + d.extra_delay;
      }
      const int copies = dec.duplicate ? 2 : 1;
      for (int i = 0; i < copies; ++i) {
        Direction::InFlight::iterator it;
        if (d.spare.empty()) {
          it = d.in_flight.emplace(std::make_pair(due, d.seq++), std::vector<std::byte>(bytes.begin(), bytes.end()))
                   .first;
        } else {
          Direction::InFlight::node_type node = std::move(d.spare.back());
          d.spare.pop_back();
          node.key() = std::make_pair(due, d.seq++);
          node.mapped().assign(bytes.begin(), bytes.end());
          it = d.in_flight.insert(std::move(node)).position;
        }
        if (dec.corrupt && i == 0) it->second[dec.corrupt_offset] ^= std::byte{dec.corrupt_mask};
        if (dec.ce && MarkCe(it->second)) ++d.ce_marked;
      }
      wake = d.receiver;
    }
    if (wake != nullptr) wake->Ring();
  }

  // Receive on side `to` (frames sent by the other side).
  bool Take(int to, std::vector<std::byte>& out) {
    Direction& d = dir_[1 - to];
    std::lock_guard<std::mutex> lock(d.mu);
    if (d.in_flight.empty() || d.in_flight.begin()->first.first > clock_.Now()) return false;
    out = std::move(d.in_flight.begin()->second);
    Recycle(d);
    return true;
  }

  bool TakeInto(int to, rings::Packet& into, bool& oversize) {
    Direction& d = dir_[1 - to];
    std::lock_guard<std::mutex> lock(d.mu);
    if (d.in_flight.empty() || d.in_flight.begin()->first.first > clock_.Now()) return false;
    const std::vector<std::byte>& frame = d.in_flight.begin()->second;
    auto room = into.ResetForReceive();
    const std::size_t n = std::min(room.size(), frame.size());
    if (n != 0) std::memcpy(room.data(), frame.data(), n);  // an empty frame's data() may be null
    into.SetSize(n);
    oversize = frame.size() >= room.size();
    Recycle(d);
    return true;
  }

  // Takes the delivered first frame's node off the wire, into the spares.
  static void Recycle(Direction& d) {
    auto node = d.in_flight.extract(d.in_flight.begin());
    if (d.spare.size() < 4096) d.spare.push_back(std::move(node));
  }

  Instant NextDue(int to) const {
    const Direction& d = dir_[1 - to];
    std::lock_guard<std::mutex> lock(d.mu);
    return d.in_flight.empty() ? Instant::Never() : d.in_flight.begin()->first.first;
  }

  void SetReceiver(int to, Doorbell* doorbell) {
    Direction& d = dir_[1 - to];
    std::lock_guard<std::mutex> lock(d.mu);
    d.receiver = doorbell;
  }

  std::uint64_t Sent(int from) const {
    const Direction& d = dir_[from];
    std::lock_guard<std::mutex> lock(d.mu);
    return d.sent;
  }

  std::uint64_t TailDropped(int from) const {
    const Direction& d = dir_[from];
    std::lock_guard<std::mutex> lock(d.mu);
    return d.tail_dropped;
  }

  Duration MeanQueueWait(int from) const {
    const Direction& d = dir_[from];
    std::lock_guard<std::mutex> lock(d.mu);
    return d.queued == 0 ? Duration() : Duration::Nanos(d.queue_wait_ns / static_cast<std::int64_t>(d.queued));
  }

  void SetExtraDelay(int from, Duration extra) {
    Direction& d = dir_[from];
    std::lock_guard<std::mutex> lock(d.mu);
    d.extra_delay = extra;
  }

  std::uint64_t CeMarked(int from) const {
    const Direction& d = dir_[from];
    std::lock_guard<std::mutex> lock(d.mu);
    return d.ce_marked;
  }

 private:
  const Clock& clock_;
  Direction dir_[2];
  ImpairConfig rates_[2];
};

std::pair<std::unique_ptr<SimLink>, std::unique_ptr<SimLink>> SimLink::Pair(
    const Clock& clock, const ImpairConfig& a_to_b, const ImpairConfig& b_to_a) {
  auto wire = std::make_shared<SimWire>(clock, a_to_b, b_to_a);
  return {std::unique_ptr<SimLink>(new SimLink(wire, 0)), std::unique_ptr<SimLink>(new SimLink(wire, 1))};
}

SimLink::~SimLink() { wire_->SetReceiver(side_, nullptr); }

bool SimLink::Receive(rings::Packet& into, bool& oversize) { return wire_->TakeInto(side_, into, oversize); }

SendResult SimLink::Send(const rings::Packet& frame) {
  const rings::PacketOffload& o = frame.offload();
  if (offload_ && (o.gso_size != 0 || o.csum_start != 0)) {
    std::lock_guard lock(send_mu_);
    const bool ok = vnet::ForEachSegment(frame.data(), o, scratch_,
                                         [&](std::span<const std::byte> f) { wire_->Send(side_, f); });
    return ok ? SendResult::kSent : SendResult::kError;  // not what its metadata says: the kernel refuses it
  }
  wire_->Send(side_, frame.data());
  return SendResult::kSent;
}

void SimLink::SetRxDoorbell(Doorbell* doorbell) { wire_->SetReceiver(side_, doorbell); }

Instant SimLink::NextDeadline() const { return wire_->NextDue(side_); }

std::string SimLink::Describe() const { return absl::StrCat("sim link side ", side_); }

void SimLink::SendBytes(std::span<const std::byte> frame) { wire_->Send(side_, frame); }

std::optional<std::vector<std::byte>> SimLink::ReceiveBytes() {
  std::vector<std::byte> out;
  if (!wire_->Take(side_, out)) return std::nullopt;
  return out;
}

std::size_t SimLink::sent() const { return wire_->Sent(side_); }

std::uint64_t SimLink::tail_dropped() const { return wire_->TailDropped(side_); }

std::uint64_t SimLink::ce_marked() const { return wire_->CeMarked(side_); }

Duration SimLink::mean_queue_wait() const { return wire_->MeanQueueWait(side_); }

void SimLink::SetExtraDelay(Duration extra) { wire_->SetExtraDelay(side_, extra); }

}  // namespace ringstack::engine
