#include "protocols/arp/arp_handler.h"

namespace ringstack::proto::arp {

ArpOutcome ArpReceive(const ArpRepr& in, MacAddress my_mac, std::span<const Ipv4Interface> mine) {
  return ArpReceive(in, my_mac, [mine](Ipv4Address a) {
    for (const Ipv4Interface& itf : mine) {
      if (itf.address == a) return true;
    }
    return false;
  });
}

ArpOutcome ArpReceive(const ArpRepr& in, MacAddress my_mac, absl::FunctionRef<bool(Ipv4Address)> is_mine) {
  ArpOutcome out;
  out.for_me = is_mine(in.tpa);
  // "?Is the opcode ares_op$REQUEST? Yes: swap hardware and protocol fields,
  // putting the local hardware and protocol addresses in the sender fields,
  // set the opcode to ares_op$REPLY, send it to the old sender."
  if (out.for_me && in.oper == kOpRequest && in.sha != my_mac) {
    out.reply = ArpRepr{kOpReply, my_mac, in.tpa, in.sha, in.spa};
  }
  return out;
}

ArpRepr ArpRequest(MacAddress my_mac, Ipv4Address my_ip, Ipv4Address target) {
  // RFC 826: the target hardware address is unknown; zero by convention.
  return ArpRepr{kOpRequest, my_mac, my_ip, MacAddress(), target};
}

}  // namespace ringstack::proto::arp
