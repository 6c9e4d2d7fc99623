// The congestion-control hook and its baseline, NewReno (RFC 5681 with RFC
// 6582's recovery). The connection owns recovery's bookkeeping (the
// "recover" point, which ACKs are duplicates or partial); an algorithm only
// moves cwnd and ssthresh. Issue #7 adds CUBIC, PRR and friends behind the
// same interface. Pure; never allocates.
#ifndef RINGSTACK_PROTOCOLS_TCP_CONGESTION_H_
#define RINGSTACK_PROTOCOLS_TCP_CONGESTION_H_

#include <cstdint>
#include <memory>
#include <string_view>

namespace ringstack::proto::tcp {

class CongestionControl {
 public:
  virtual ~CongestionControl() = default;
  virtual std::string_view name() const = 0;
  virtual std::uint32_t cwnd() const = 0;
  virtual std::uint32_t ssthresh() const = 0;
  // New data acknowledged outside recovery: `acked` bytes.
  virtual void OnAck(std::uint32_t acked) = 0;
  // The third duplicate ACK: fast retransmit, recovery begins with
  // `flight` bytes outstanding.
  virtual void OnEnterRecovery(std::uint32_t flight) = 0;
  // Each further duplicate ACK during recovery.
  virtual void OnDupAckInRecovery() = 0;
  // A partial ACK during recovery acknowledged `acked` bytes.
  virtual void OnPartialAck(std::uint32_t acked) = 0;
  // A full ACK ended recovery with `flight` bytes still outstanding.
  virtual void OnExitRecovery(std::uint32_t flight) = 0;
  // The retransmission timer expired with `flight` bytes outstanding.
  virtual void OnRetransmitTimeout(std::uint32_t flight) = 0;
};

class NewReno final : public CongestionControl {
 public:
  explicit NewReno(std::uint32_t smss);
  std::string_view name() const override { return "newreno"; }
  std::uint32_t cwnd() const override { return cwnd_; }
  std::uint32_t ssthresh() const override { return ssthresh_; }
  void OnAck(std::uint32_t acked) override;
  void OnEnterRecovery(std::uint32_t flight) override;
  void OnDupAckInRecovery() override;
  void OnPartialAck(std::uint32_t acked) override;
  void OnExitRecovery(std::uint32_t flight) override;
  void OnRetransmitTimeout(std::uint32_t flight) override;

 private:
  void HalveTo(std::uint32_t flight);
  const std::uint32_t smss_;
  std::uint32_t cwnd_;
  std::uint32_t ssthresh_ = 0xffffffffu;  // RFC 5681 3.1: arbitrarily high at first
  std::uint32_t bytes_acked_ = 0;         // congestion avoidance's byte counting (RFC 3465)
};

// The algorithm named `name` ("newreno"), or null when there is none such.
std::unique_ptr<CongestionControl> MakeCongestionControl(std::string_view name, std::uint32_t smss);

}  // namespace ringstack::proto::tcp

#endif  // RINGSTACK_PROTOCOLS_TCP_CONGESTION_H_
