// Link: where frames come from and go to (a TAP queue, an in-memory SimLink,
// or a decorator such as ImpairedLink). Receive is called by the RX stage's
// thread only; Send by the TX stage's thread, and, on a link whose
// concurrent_send() is true, by workers too (--tx-inline); the two may run
// at once.
#ifndef RINGSTACK_ENGINE_LINK_LINK_H_
#define RINGSTACK_ENGINE_LINK_LINK_H_

#include <atomic>
#include <string>

#include "engine/clock.h"
#include "rings/packet_pool.h"

namespace ringstack::engine {

class Doorbell;

enum class SendResult { kSent, kBusy, kError };

class Link {
 public:
  virtual ~Link() = default;
  // Reads one frame into `into` (whose buffer is reset first). False when no
  // frame is waiting. A frame longer than the buffer is read truncated and
  // reported by setting `oversize`.
  virtual bool Receive(rings::Packet& into, bool& oversize) = 0;
  // Writes one frame. kBusy: try again later (the frame was not taken);
  // kError: the link refused it for good (count and drop).
  virtual SendResult Send(const rings::Packet& frame) = 0;
  // fds to wait on while idle: readable when frames wait, writable when a
  // kBusy Send may now succeed. -1 when the link uses a doorbell instead.
  virtual int rx_fd() const { return -1; }
  virtual int tx_fd() const { return -1; }
  // Frames may arrive larger than a standard buffer (TCP super-frames of a
  // TAP with offload): Receive wants a large one.
  virtual bool rx_needs_large() const { return false; }
  // The link takes frames with PacketOffload metadata (partial checksums,
  // TCP super-segments) and completes them; without it every frame sent
  // must be whole.
  virtual bool offload() const { return false; }
  // Send may be called from several threads at once (a worker writing its
  // own frame while the TX stage writes another's).
  virtual bool concurrent_send() const { return false; }
  // For links without an fd: the doorbell to ring when frames arrive.
  virtual void SetRxDoorbell(Doorbell* /*doorbell*/) {}
  // The earliest time a held frame becomes receivable (delay, reordering).
  virtual Instant NextDeadline() const { return Instant::Never(); }
  // The engine has stopped: frames still held (delay, reordering) are
  // dropped, so their buffers are back in the pool. No thread polls the
  // link any more.
  virtual void DropHeld() {}
  virtual std::string Describe() const = 0;
  // Set once the link has failed for good (the TAP was deleted, say); empty
  // while it works. Safe to read from any thread. Decorators report their
  // inner link's.
  virtual std::string failure() const {
    return failed_.load(std::memory_order_acquire) ? failure_ : std::string();
  }

 protected:
  // Called by Receive/Send, on their own thread, at most once in effect.
  void SetFailure(std::string why) {
    if (failed_.load(std::memory_order_relaxed)) return;
    failure_ = std::move(why);
    failed_.store(true, std::memory_order_release);
  }

 private:
  std::string failure_;
  std::atomic<bool> failed_{false};
};

}  // namespace ringstack::engine

#endif  // RINGSTACK_ENGINE_LINK_LINK_H_
