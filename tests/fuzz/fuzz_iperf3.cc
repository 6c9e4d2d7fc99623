// libFuzzer target: what an iperf3 peer sends ringstack — the control
// channel's JSON (the reader, the parameters, the results, each written back
// and read again to the same values), a JSON message's length field, and UDP
// data datagrams through the receiver's loss and jitter accounting.
#include <string>
#include <string_view>

#include "protocols/common/json.h"
#include "protocols/iperf3/iperf3.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace proto = ringstack::proto;
  namespace iperf3 = proto::iperf3;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (const auto v = proto::json::Parse(text)) {
    const std::string written = v->Write();
    const auto again = proto::json::Parse(written, 64);
    RS_FUZZ_CHECK(again && again->Write() == written);
  }
  if (const auto p = iperf3::Params::Parse(text)) {
    const auto q = iperf3::Params::Parse(p->ToJson());
    RS_FUZZ_CHECK(q && q->udp == p->udp && q->time == p->time && q->bytes == p->bytes && q->parallel == p->parallel &&
                  q->reverse == p->reverse && q->bidir == p->bidir && q->block_len() == p->block_len() &&
                  q->bandwidth == p->bandwidth && q->udp_counters_64bit == p->udp_counters_64bit);
    RS_FUZZ_CHECK(p->stream_count() >= 1 && p->stream_count() <= 2 * iperf3::kMaxStreams);
  }
  if (const auto r = iperf3::Results::Parse(text)) {
    const auto q = iperf3::Results::Parse(r->ToJson());
    RS_FUZZ_CHECK(q && q->streams.size() == r->streams.size());
    for (std::size_t i = 0; i < r->streams.size(); ++i) {
      RS_FUZZ_CHECK(q->streams[i].id == r->streams[i].id && q->streams[i].bytes == r->streams[i].bytes &&
                    q->streams[i].retransmits == r->streams[i].retransmits);
    }
  }
  const auto bytes = AsBytes(data, size);
  if (size >= 4) {
    if (const auto n = iperf3::ParseJsonLength(bytes.first(4))) RS_FUZZ_CHECK(*n >= 1 && *n <= iperf3::kMaxJsonLen);
  }
  // The input as a run of 12-byte UDP headers arriving a millisecond apart.
  iperf3::UdpReceiver rx;
  for (std::size_t at = 0; at + 12 <= size; at += 12) {
    const auto h = iperf3::UdpHeader::Parse(bytes.subspan(at), false);
    RS_FUZZ_CHECK(h.ok());
    rx.OnDatagram(*h, 12, 1e9 + static_cast<double>(at));
    RS_FUZZ_CHECK(rx.errors >= 0);
  }
  return 0;
}
