// ObservedLink: the link as the capture and the packet trace see it. Every
// frame received or sent goes to the Capture (when one runs) and, when
// --trace (or the console's "trace") names one of its layers, to a one-line
// summary in the log. Costs two relaxed loads per frame when both are off.
#ifndef RINGSTACK_ENGINE_CONSOLE_OBSERVED_LINK_H_
#define RINGSTACK_ENGINE_CONSOLE_OBSERVED_LINK_H_

#include <memory>
#include <string>

#include "engine/console/capture.h"
#include "engine/link/link.h"
#include "engine/log.h"

namespace ringstack::engine {

class ObservedLink final : public Link {
 public:
  ObservedLink(std::unique_ptr<Link> inner, Capture& capture, const Logger& logger)
      : inner_(std::move(inner)), capture_(capture), logger_(logger) {}

  bool Receive(rings::Packet& into, bool& oversize) override;
  SendResult Send(const rings::Packet& frame) override;
  int rx_fd() const override { return inner_->rx_fd(); }
  int tx_fd() const override { return inner_->tx_fd(); }
  bool rx_needs_large() const override { return inner_->rx_needs_large(); }
  bool offload() const override { return inner_->offload(); }
  bool concurrent_send() const override { return inner_->concurrent_send(); }
  void SetRxDoorbell(Doorbell* doorbell) override { inner_->SetRxDoorbell(doorbell); }
  Instant NextDeadline() const override { return inner_->NextDeadline(); }
  void DropHeld() override { inner_->DropHeld(); }
  std::string Describe() const override { return inner_->Describe(); }
  std::string failure() const override { return inner_->failure(); }

 private:
  void Trace(const char* dir, std::span<const std::byte> frame) const;

  std::unique_ptr<Link> inner_;
  Capture& capture_;
  const Logger& logger_;
};

}  // namespace ringstack::engine

#endif  // RINGSTACK_ENGINE_CONSOLE_OBSERVED_LINK_H_
