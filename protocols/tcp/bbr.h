// BBR congestion control, version 1 (draft-cardwell-iccrg-bbr-congestion-
// control-00, as Linux's tcp_bbr.c): a model of the path from delivery rate
// samples — the bottleneck bandwidth (BtlBw: the highest rate delivered
// over the last 10 rounds) and the round-trip propagation time (RTprop: the
// lowest RTT over the last 10 s) — sets the pacing rate (pacing_gain x
// BtlBw) and cwnd (cwnd_gain x BtlBw x RTprop, plus a few segments), in
// four states:
//   Startup   gains 2/ln 2, until BtlBw grew less than 25% in 3 rounds;
//   Drain     pacing 1/(2/ln 2), until the flight is down to one BDP;
//   ProbeBW   pacing gains cycling 5/4, 3/4, 1 x 6, each about one RTprop;
//   ProbeRTT  cwnd 4 segments for 200 ms and a round, when RTprop was not
//             renewed in 10 s; then back where it was.
// ACKs that come in bursts (a receiver's stretch ACKs, a TAP's batches)
// deliver more in a spell than BtlBw explains; the most of that excess
// over the last 10 rounds is added to cwnd once the pipe is full (Linux's
// bbr_update_ack_aggregation), so the sender keeps sending between bursts.
// Loss is no congestion signal of its own: a congestion event keeps ssthresh
// at cwnd, so recovery (PRR) conserves packets and ends where it began.
// Pure; never allocates.
#ifndef RINGSTACK_PROTOCOLS_TCP_BBR_H_
#define RINGSTACK_PROTOCOLS_TCP_BBR_H_

#include <array>
#include <cstdint>
#include <string_view>

#include "protocols/tcp/congestion.h"

namespace ringstack::proto::tcp {

class Bbr final : public CongestionControl {
 public:
  enum class Mode { kStartup, kDrain, kProbeBw, kProbeRtt };
  static constexpr double kHighGain = 2.885;  // 2 / ln 2
  static constexpr double kDrainGain = 1.0 / 2.885;
  static constexpr double kCwndGain = 2.0;
  static constexpr std::array<double, 8> kPacingGains = {1.25, 0.75, 1, 1, 1, 1, 1, 1};
  static constexpr std::uint32_t kBwRounds = 10;
  static constexpr Duration kRtpropWindow = Duration::Seconds(10);
  static constexpr Duration kProbeRttTime = Duration::Millis(200);

  explicit Bbr(std::uint32_t smss);
  std::string_view name() const override { return "bbr"; }

  void OnRateSample(const RateSample& rs) override;
  std::uint64_t PacingRate(Duration srtt) const override;
  bool NeedsPacing() const override { return true; }
  void OnNonValidatedPeriodEnd() override {}

  Mode mode() const { return mode_; }
  std::string_view ModeName() const;
  std::uint64_t btl_bw() const;  // octets per second
  Duration rtprop() const { return rtprop_; }
  double pacing_gain() const { return pacing_gain_; }
  bool filled_pipe() const { return filled_pipe_; }
  std::uint64_t rounds() const { return round_count_; }
  std::uint32_t extra_acked() const { return ExtraAcked(); }  // the ACK aggregation allowance

 private:
  void Avoid(const AckInfo&) override {}
  std::uint32_t EventSsthresh(std::uint32_t flight, Instant now) override;
  bool GrowsOnAck() const override { return false; }

  // draft 4.5 (model) and 4.6 (state machine), one step each.
  void UpdateRound(const RateSample& rs);
  void UpdateBtlBw(const RateSample& rs);
  void UpdateRtprop(const RateSample& rs);
  void CheckFullPipe(const RateSample& rs);
  void CheckDrain(const RateSample& rs);
  void AdvanceCycle(const RateSample& rs);
  void CheckProbeRtt(const RateSample& rs);
  void EnterProbeBw(Instant now);
  void SetCwnd(const RateSample& rs);
  void UpdateAckAggregation(const RateSample& rs);
  std::uint32_t ExtraAcked() const;
  std::uint32_t Inflight(double gain) const;  // gain x BDP (the initial window without a model)

  Mode mode_ = Mode::kStartup;
  double pacing_gain_ = kHighGain;
  double cwnd_gain_ = kHighGain;
  // BtlBw: each round's highest rate, the last kBwRounds rounds.
  std::array<std::uint64_t, kBwRounds> bw_{};
  std::array<std::uint64_t, kBwRounds> bw_round_{};
  Duration rtprop_ = Duration::Infinite();
  Instant rtprop_stamp_;
  bool rtprop_expired_ = false;
  // Rounds: one ends when a segment sent after its start is delivered.
  std::uint64_t round_count_ = 0;
  std::uint64_t next_round_delivered_ = 0;
  bool round_start_ = false;
  // Startup's exit.
  std::uint64_t full_bw_ = 0;
  int full_bw_count_ = 0;
  bool filled_pipe_ = false;
  // ProbeBW's cycle.
  std::size_t cycle_index_ = 0;
  Instant cycle_stamp_;
  // ProbeRTT.
  Instant probe_rtt_done_ = Instant::Never();
  bool probe_rtt_round_done_ = false;
  std::uint32_t prior_cwnd_ = 0;
  // ACK aggregation: octets acknowledged since the epoch began, and each
  // round's largest excess over what BtlBw explains.
  Instant ack_epoch_start_ = Instant::Never();
  std::uint64_t ack_epoch_acked_ = 0;
  std::array<std::uint32_t, kBwRounds> extra_acked_{};
  std::array<std::uint64_t, kBwRounds> extra_round_{};
  // Fast recovery: packet conservation for its first round.
  bool in_recovery_ = false;
  bool conservation_ = false;
  std::uint64_t conservation_end_ = 0;
};

}  // namespace ringstack::proto::tcp

#endif  // RINGSTACK_PROTOCOLS_TCP_BBR_H_
