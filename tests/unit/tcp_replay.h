// TcpReplayer: carries a TcpOutcome's actions out as calls, in order — what
// an engine layer does with them — for the TCP tests' recorders, the
// two-connection flow test and the fuzz target's owner.
#ifndef RINGSTACK_TESTS_UNIT_TCP_REPLAY_H_
#define RINGSTACK_TESTS_UNIT_TCP_REPLAY_H_

#include <variant>

#include "protocols/common/overloaded.h"
#include "protocols/tcp/tcp_outcome.h"

namespace ringstack::proto::tcp {

class TcpReplayer {
 public:
  virtual ~TcpReplayer() = default;
  virtual void Transmit(const TcpRepr& h, std::uint32_t offset, std::uint32_t len, IpEcn ecn) = 0;
  virtual void Place(std::uint32_t offset, Bytes data) = 0;
  virtual void Commit(std::uint32_t n) = 0;
  virtual void Release(std::uint32_t n) = 0;
  virtual void Event(TcpEvent e) = 0;

  // Where the connection's calls append; Absorb carries it out and clears it.
  TcpOutcome out;
  void Absorb() {
    for (const TcpAction& a : out.actions()) {
      std::visit(Overloaded{
                     [&](const TcpTransmit& t) { Transmit(t.header, t.offset, t.len, t.ecn); },
                     [&](const TcpPlace& p) { Place(p.offset, p.data); },
                     [&](const TcpCommit& c) { Commit(c.n); },
                     [&](const TcpRelease& r) { Release(r.n); },
                     [&](TcpEvent e) { Event(e); },
                 },
                 a);
    }
    out.Clear();
  }
};

}  // namespace ringstack::proto::tcp

#endif  // RINGSTACK_TESTS_UNIT_TCP_REPLAY_H_
