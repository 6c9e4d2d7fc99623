// LinkOutput: what a shard's layers below IP (and the IP layers themselves)
// ask of the link: put an Ethernet header on a payload and send the frame.
#ifndef RINGSTACK_ENGINE_LINK_OUTPUT_H_
#define RINGSTACK_ENGINE_LINK_OUTPUT_H_

#include <cstdint>

#include "protocols/common/address.h"
#include "rings/packet_pool.h"

namespace ringstack::engine {

class LinkOutput {
 public:
  // `p` holds the Ethernet payload; the header goes into its headroom.
  virtual void SendEthernet(rings::Packet p, proto::MacAddress dst, std::uint16_t ethertype) = 0;

 protected:
  ~LinkOutput() = default;
};

}  // namespace ringstack::engine

#endif  // RINGSTACK_ENGINE_LINK_OUTPUT_H_
