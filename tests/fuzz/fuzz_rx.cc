// libFuzzer target: the whole receive path. The input is one or more frames
// (2-byte big-endian length prefixes) fed to an in-process engine over a
// SimLink. Checks: no crash, every frame the engine sends parses as Ethernet,
// and once idle every packet buffer is back in the pool.
#include <memory>
#include <vector>

#include "engine/engine.h"
#include "engine/link/sim.h"
#include "engine/runner.h"
#include "protocols/ethernet/ethernet_repr.h"
#include "tests/fuzz/fuzz_common.h"

namespace {

using namespace ringstack::engine;  // NOLINT(build/namespaces): harness only

struct Harness {
  Harness() {
    RawFlags f;
    f.tap = "fuzz0";
    f.mac = "02:00:00:00:00:01";
    f.ip4 = "192.0.2.2/24";
    f.acd = "off";
    f.gw4 = "192.0.2.1";
    f.dhcp4 = true;  // the client runs too, so DHCP replies reach its parser
    f.workers = 2;
    f.pool_buffers = 512;
    auto [p, mine] = SimLink::Pair(clock);
    peer = std::move(p);
    engine = std::move(*Engine::CreateWithLink(*ParseConfig(f, 1), std::move(mine), clock));
    runner = std::make_unique<SimRunner>(engine->stages(), clock,
                                         std::vector<ringstack::rings::PacketPool*>{&engine->pool()});
  }
  VirtualClock clock;
  std::unique_ptr<SimLink> peer;
  std::unique_ptr<Engine> engine;
  std::unique_ptr<SimRunner> runner;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Harness* h = new Harness();  // one engine for the whole run (harness, not library code)
  std::size_t off = 0;
  while (off + 2 <= size) {
    const std::size_t len = std::min<std::size_t>((data[off] << 8) | data[off + 1], size - off - 2);
    h->peer->SendBytes(AsBytes(data + off + 2, len));
    off += 2 + len;
  }
  if (off < size) h->peer->SendBytes(AsBytes(data + off, size - off));
  // Long enough for ARP retries to run out, so parked packets are released.
  h->runner->RunFor(ringstack::proto::Duration::Seconds(5));
  while (auto f = h->peer->ReceiveBytes()) {
    RS_FUZZ_CHECK(ringstack::proto::ethernet::EthernetRepr::Parse(*f).ok());
  }
  RS_FUZZ_CHECK(h->engine->pool().stats().cls[0].in_use == 0);
  return 0;
}
