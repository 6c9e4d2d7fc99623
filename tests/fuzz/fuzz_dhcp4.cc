// libFuzzer target: Dhcp4Repr::Parse on raw bytes and on the bytes as the
// options of a well-formed reply (so random input reaches the option walk),
// Emit/Parse round trip, and the client state machine fed what parses.
#include <vector>

#include "protocols/dhcp4/dhcp4_client.h"
#include "protocols/dhcp4/dhcp4_repr.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace dhcp4 = ringstack::proto::dhcp4;
  using ringstack::proto::Duration;
  using ringstack::proto::Instant;
  (void)dhcp4::Dhcp4Repr::Parse(AsBytes(data, size));

  const auto mac = *ringstack::proto::MacAddress::Parse("02:00:00:00:00:01");
  dhcp4::Dhcp4ClientConfig cfg;
  cfg.check_address = size % 2 == 0;
  dhcp4::Dhcp4Client client(mac, size, cfg);
  const Instant t0 = Instant::FromNanos(1'000'000'000);
  const auto start = client.Start(t0);

  // A reply for the client's transaction whose options are the input.
  dhcp4::Dhcp4Repr base;
  base.op = dhcp4::kOpReply;
  base.xid = start.send->msg.xid;
  base.chaddr = mac;
  base.yiaddr = *ringstack::proto::Ipv4Address::Parse("192.0.2.50");
  std::vector<std::byte> msg(dhcp4::kFixedLen + 4);
  std::vector<std::byte> full(base.emitted_len());
  base.Emit(full);
  std::copy(full.begin(), full.begin() + static_cast<long>(msg.size()), msg.begin());
  const auto in = AsBytes(data, size);
  msg.insert(msg.end(), in.begin(), in.end());
  const auto r = dhcp4::Dhcp4Repr::Parse(msg);
  if (!r) return 0;
  std::vector<std::byte> out(r->emitted_len());
  r->Emit(out);
  const auto again = dhcp4::Dhcp4Repr::Parse(out);
  RS_FUZZ_CHECK(again.ok());
  RS_FUZZ_CHECK(again->type == r->type && again->yiaddr == r->yiaddr && again->lease_time == r->lease_time &&
                again->server_id == r->server_id && again->dns_count == r->dns_count);

  // Whatever it is, the client stays consistent: offer, then the same as an ack.
  Instant now = t0;
  for (int round = 0; round < 3; ++round) {
    auto m = *r;
    m.xid = base.xid;
    if (round == 1) m.type = dhcp4::MessageType::kAck;
    const auto o = client.OnMessage(m, now);
    if (o.send) base.xid = o.send->msg.xid;
    if (o.lease) RS_FUZZ_CHECK(o.lease->t1 <= o.lease->t2 && o.lease->t2 <= o.lease->lease_time);
    if (o.event == dhcp4::Dhcp4Client::Event::kCheckAddress) client.OnAddressChecked(size % 3 == 0, now);
    now = now + Duration::Seconds(1);
  }
  for (int i = 0; i < 5 && !client.NextDeadline().IsNever(); ++i) client.OnTimer(client.NextDeadline());
  return 0;
}
