#include "engine/console/observed_link.h"

#include "absl/strings/str_cat.h"
#include "engine/console/packet_summary.h"

namespace ringstack::engine {

bool ObservedLink::Receive(rings::Packet& into, bool& oversize) {
  if (!inner_->Receive(into, oversize)) return false;
  capture_.OnFrame(Capture::Direction::kRx, into.data());
  if (logger_.trace() != 0) Trace("RX", into.data());
  return true;
}

SendResult ObservedLink::Send(const rings::Packet& frame) {
  // Stamped and traced before the write, so a reply the RX thread sees at
  // once never comes first in the file or the log (a frame the link
  // refuses as busy is traced again when retried).
  const std::int64_t stamp = capture_.active() ? Capture::Now() : 0;
  if (logger_.trace() != 0) Trace("TX", frame.data());
  const SendResult r = inner_->Send(frame);
  if (r == SendResult::kSent && stamp != 0) capture_.OnFrame(Capture::Direction::kTx, frame.data(), stamp);
  return r;
}

void ObservedLink::Trace(const char* dir, std::span<const std::byte> frame) const {
  const FrameSummary s = SummarizeFrame(frame);
  if ((s.layers & logger_.trace()) != 0) logger_.Trace(absl::StrCat(dir, " ", s.text));
}

}  // namespace ringstack::engine
