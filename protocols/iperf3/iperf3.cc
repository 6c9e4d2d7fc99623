#include "protocols/iperf3/iperf3.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace ringstack::proto::iperf3 {
namespace {

bool Fail(std::string* why, std::string text) {
  if (why != nullptr) *why = std::move(text);
  return false;
}

// A JSON number that is a whole number in [lo, hi].
bool WholeIn(const json::Value& v, double lo, double hi) {
  return v.is_number() && v.number() == std::floor(v.number()) && v.number() >= lo && v.number() <= hi;
}

// Reads member `key` as a whole number in [lo, hi] into `out` (absent: kept).
template <typename T>
bool ReadWhole(const json::Value& j, std::string_view key, double lo, double hi, T& out, std::string* why) {
  const json::Value* v = j.Find(key);
  if (v == nullptr) return true;
  if (!WholeIn(*v, lo, hi)) {
    return Fail(why, absl::StrCat("\"", std::string(key), "\" must be a whole number from ", lo, " to ", hi));
  }
  out = static_cast<T>(v->number());
  return true;
}

// iperf3 sets a flag by the key's presence (true, or a number: 1).
bool ReadFlag(const json::Value& j, std::string_view key, bool& out, std::string* why) {
  const json::Value* v = j.Find(key);
  if (v == nullptr) return true;
  if (v->is_bool()) {
    out = v->boolean();
  } else if (v->is_number()) {
    out = v->number() != 0;
  } else {
    return Fail(why, absl::StrCat("\"", std::string(key), "\" must be true or a number"));
  }
  return true;
}

bool ReadText(const json::Value& j, std::string_view key, std::string& out, std::string* why) {
  const json::Value* v = j.Find(key);
  if (v == nullptr) return true;
  if (!v->is_string() || v->string().size() > 256) {
    return Fail(why, absl::StrCat("\"", std::string(key), "\" must be a string of at most 256 bytes"));
  }
  out = v->string();
  return true;
}

constexpr double kMax53 = 9007199254740991.0;  // 2^53 - 1: what a double holds exactly

// A count that may be -1 ("not known"): iperf3 3.12 prints a C -1 stored in
// an unsigned 64-bit field as 18446744073709551615, so anything from 2^63
// up reads as -1. nullopt when it is no count at all.
std::optional<std::int64_t> SignedCount(std::optional<double> v) {
  if (!v || std::isnan(*v)) return std::nullopt;
  if (*v >= 9223372036854775808.0) return -1;
  if (*v < -kMax53 || *v > kMax53) return std::nullopt;
  return static_cast<std::int64_t>(*v);
}

}  // namespace

std::string StateName(std::int8_t state) {
  switch (static_cast<State>(state)) {
    case State::kTestStart: return "TEST_START";
    case State::kTestRunning: return "TEST_RUNNING";
    case State::kTestEnd: return "TEST_END";
    case State::kParamExchange: return "PARAM_EXCHANGE";
    case State::kCreateStreams: return "CREATE_STREAMS";
    case State::kServerTerminate: return "SERVER_TERMINATE";
    case State::kClientTerminate: return "CLIENT_TERMINATE";
    case State::kExchangeResults: return "EXCHANGE_RESULTS";
    case State::kDisplayResults: return "DISPLAY_RESULTS";
    case State::kIperfStart: return "IPERF_START";
    case State::kIperfDone: return "IPERF_DONE";
    case State::kAccessDenied: return "ACCESS_DENIED";
    case State::kServerError: return "SERVER_ERROR";
  }
  return absl::StrCat("state ", static_cast<int>(state));
}

bool IsKnownState(std::int8_t state) { return StateName(state).rfind("state ", 0) != 0; }

bool ValidCookie(Bytes b) {
  if (b.size() != kCookieLen || b[kCookieLen - 1] != std::byte{0}) return false;
  for (std::size_t i = 0; i + 1 < kCookieLen; ++i) {
    if (kCookieAlphabet.find(static_cast<char>(b[i])) == std::string_view::npos) return false;
  }
  return true;
}

std::string MakeCookie(const std::uint32_t (&random)[36]) {
  std::string c;
  for (const std::uint32_t r : random) c += kCookieAlphabet[r % kCookieAlphabet.size()];
  c += '\0';
  return c;
}

std::optional<std::uint32_t> ParseJsonLength(Bytes four) {
  if (four.size() != 4) return std::nullopt;
  const std::uint32_t n = LoadBe32(four.data());
  if (n == 0 || n > kMaxJsonLen) return std::nullopt;
  return n;
}

std::string FrameJson(const std::string& json) {
  std::string out(4, '\0');
  StoreBe32(reinterpret_cast<std::byte*>(out.data()), static_cast<std::uint32_t>(json.size()));
  return out + json;
}

std::optional<Params> Params::Parse(std::string_view text, std::string* why) {
  const auto j = json::Parse(text);
  if (!j || !j->is_object()) {
    Fail(why, "the parameters are not a JSON object");
    return std::nullopt;
  }
  Params p;
  bool tcp = false;
  if (!ReadFlag(*j, "tcp", tcp, why) || !ReadFlag(*j, "udp", p.udp, why)) return std::nullopt;
  if (j->Find("sctp") != nullptr) {
    Fail(why, "SCTP tests are not supported (TCP and UDP are)");
    return std::nullopt;
  }
  if (!tcp && !p.udp) {
    Fail(why, "the parameters name no protocol (\"tcp\" or \"udp\")");
    return std::nullopt;
  }
  if (tcp && p.udp) {
    Fail(why, "the parameters name both TCP and UDP");
    return std::nullopt;
  }
  const bool ok = ReadWhole(*j, "time", 0, 86400, p.time, why) && ReadWhole(*j, "num", 0, kMax53, p.bytes, why) &&
                  ReadWhole(*j, "blockcount", 0, kMax53, p.blocks, why) && ReadWhole(*j, "omit", 0, 600, p.omit, why) &&
                  ReadWhole(*j, "parallel", 1, kMaxStreams, p.parallel, why) &&
                  ReadFlag(*j, "reverse", p.reverse, why) && ReadFlag(*j, "bidirectional", p.bidir, why) &&
                  ReadWhole(*j, "len", 0, p.udp ? 65507 : 1 << 20, p.len, why) &&
                  ReadWhole(*j, "bandwidth", 0, kMax53, p.bandwidth, why) &&
                  ReadWhole(*j, "window", 0, 1 << 30, p.window, why) && ReadWhole(*j, "MSS", 0, 9216, p.mss, why) &&
                  ReadFlag(*j, "nodelay", p.nodelay, why) && ReadText(*j, "congestion", p.congestion, why) &&
                  ReadFlag(*j, "get_server_output", p.get_server_output, why) &&
                  ReadFlag(*j, "udp_counters_64bit", p.udp_counters_64bit, why) &&
                  ReadText(*j, "client_version", p.client_version, why);
  if (!ok) return std::nullopt;
  if (p.udp && p.len != 0 && p.len < UdpHeader::Len(p.udp_counters_64bit)) {
    Fail(why, "\"len\" is shorter than the UDP datagram header");
    return std::nullopt;
  }
  if (p.time == 0 && p.bytes == 0 && p.blocks == 0) {
    Fail(why, "the test has no end (\"time\", \"num\" and \"blockcount\" all 0)");
    return std::nullopt;
  }
  return p;
}

std::string Params::ToJson() const {
  json::Value j = json::Value::Object();
  j.Set(udp ? "udp" : "tcp", json::Value::Bool(true));
  j.Set("omit", json::Value::Number(omit));
  j.Set("time", json::Value::Number(time));
  j.Set("num", json::Value::Number(static_cast<double>(bytes)));
  j.Set("blockcount", json::Value::Number(static_cast<double>(blocks)));
  if (mss != 0) j.Set("MSS", json::Value::Number(mss));
  if (nodelay) j.Set("nodelay", json::Value::Bool(true));
  j.Set("parallel", json::Value::Number(parallel));
  if (reverse) j.Set("reverse", json::Value::Bool(true));
  if (bidir) j.Set("bidirectional", json::Value::Bool(true));
  if (window != 0) j.Set("window", json::Value::Number(window));
  j.Set("len", json::Value::Number(block_len()));
  if (bandwidth != 0) j.Set("bandwidth", json::Value::Number(static_cast<double>(bandwidth)));
  if (!congestion.empty()) j.Set("congestion", json::Value::String(congestion));
  if (get_server_output) j.Set("get_server_output", json::Value::Number(1));
  if (udp_counters_64bit) j.Set("udp_counters_64bit", json::Value::Number(1));
  j.Set("client_version", json::Value::String(client_version.empty() ? "ringstack" : client_version));
  return j.Write();
}

bool ServerSendsOnStream(const Params& p, int index) { return index >= (p.client_sends() ? p.parallel : 0); }

std::optional<Results> Results::Parse(std::string_view text, std::string* why) {
  const auto j = json::Parse(text);
  if (!j || !j->is_object()) {
    Fail(why, "the results are not a JSON object");
    return std::nullopt;
  }
  Results r;
  const auto total = j->GetNumber("cpu_util_total");
  const auto user = j->GetNumber("cpu_util_user");
  const auto system = j->GetNumber("cpu_util_system");
  const auto retrans = SignedCount(j->GetNumber("sender_has_retransmits"));
  const json::Value* streams = j->Find("streams");
  if (!total || !user || !system || !retrans || streams == nullptr || !streams->is_array()) {
    Fail(why, "the results lack cpu_util_total/user/system, sender_has_retransmits or streams");
    return std::nullopt;
  }
  if (streams->items().size() > 2 * kMaxStreams) {
    Fail(why, "the results name more streams than a test can have");
    return std::nullopt;
  }
  r.cpu_total = *total;
  r.cpu_user = *user;
  r.cpu_system = *system;
  r.sender_has_retransmits = *retrans > 0 ? 1 : static_cast<int>(*retrans);
  if (auto cc = j->GetString("congestion_used")) r.congestion_used = *cc;
  if (auto out = j->GetString("server_output_text")) r.server_output_text = *out;
  for (const json::Value& s : streams->items()) {
    StreamResult sr;
    const json::Value* id = s.Find("id");
    const auto bytes = s.GetNumber("bytes");
    const auto rt = SignedCount(s.GetNumber("retransmits"));
    const auto jitter = s.GetNumber("jitter");
    const auto errors = SignedCount(s.GetNumber("errors"));
    const auto packets = SignedCount(s.GetNumber("packets"));
    if (id == nullptr || !WholeIn(*id, 0, 1e6) || !bytes || *bytes < 0 || *bytes > kMax53 || !rt || !jitter ||
        !errors || !packets) {
      Fail(why, "a stream's result lacks id, bytes, retransmits, jitter, errors or packets, or one is out of range");
      return std::nullopt;
    }
    sr.id = static_cast<int>(id->number());
    sr.bytes = static_cast<std::uint64_t>(*bytes);
    sr.retransmits = *rt;
    sr.jitter = *jitter;
    sr.errors = *errors;
    sr.packets = *packets;
    sr.start_time = s.GetNumber("start_time").value_or(0);
    sr.end_time = s.GetNumber("end_time").value_or(0);
    r.streams.push_back(sr);
  }
  return r;
}

std::string Results::ToJson() const {
  json::Value j = json::Value::Object();
  j.Set("cpu_util_total", json::Value::Number(cpu_total));
  j.Set("cpu_util_user", json::Value::Number(cpu_user));
  j.Set("cpu_util_system", json::Value::Number(cpu_system));
  j.Set("sender_has_retransmits", json::Value::Number(sender_has_retransmits));
  if (!congestion_used.empty()) j.Set("congestion_used", json::Value::String(congestion_used));
  if (!server_output_text.empty()) j.Set("server_output_text", json::Value::String(server_output_text));
  json::Value& streams = j.Set("streams", json::Value::Array());
  for (const StreamResult& s : this->streams) {
    json::Value& o = streams.Add(json::Value::Object());
    o.Set("id", json::Value::Number(s.id));
    o.Set("bytes", json::Value::Number(static_cast<double>(s.bytes)));
    o.Set("retransmits", json::Value::Number(static_cast<double>(s.retransmits)));
    o.Set("jitter", json::Value::Number(s.jitter));
    o.Set("errors", json::Value::Number(static_cast<double>(s.errors)));
    o.Set("omitted_errors", json::Value::Number(0));
    o.Set("packets", json::Value::Number(static_cast<double>(s.packets)));
    o.Set("omitted_packets", json::Value::Number(0));
    o.Set("start_time", json::Value::Number(s.start_time));
    o.Set("end_time", json::Value::Number(s.end_time));
  }
  return j.Write();
}

void EmitUdpConnectWord(std::uint32_t word, MutableBytes four) {
  // Little-endian, as iperf3 on x86 writes its int.
  for (int i = 0; i < 4; ++i) four[static_cast<std::size_t>(i)] = static_cast<std::byte>(word >> (8 * i));
}

bool IsUdpConnectWord(std::uint32_t word, Bytes four) {
  if (four.size() < 4) return false;
  std::uint32_t le = 0;
  for (int i = 3; i >= 0; --i) le = (le << 8) | static_cast<std::uint32_t>(four[static_cast<std::size_t>(i)]);
  return le == word || LoadBe32(four.data()) == word;
}

Parsed<UdpHeader> UdpHeader::Parse(Bytes datagram, bool counters64) {
  if (datagram.size() < Len(counters64)) return ParseError::kTruncated;
  UdpHeader h;
  h.sec = LoadBe32(datagram.data());
  h.usec = LoadBe32(datagram.data() + 4);
  h.count = counters64 ? (std::uint64_t{LoadBe32(datagram.data() + 8)} << 32) | LoadBe32(datagram.data() + 12)
                       : LoadBe32(datagram.data() + 8);
  return h;
}

void UdpHeader::Emit(MutableBytes out, bool counters64) const {
  StoreBe32(out.data(), sec);
  StoreBe32(out.data() + 4, usec);
  if (counters64) {
    StoreBe32(out.data() + 8, static_cast<std::uint32_t>(count >> 32));
    StoreBe32(out.data() + 12, static_cast<std::uint32_t>(count));
  } else {
    StoreBe32(out.data() + 8, static_cast<std::uint32_t>(count));
  }
}

void UdpReceiver::OnDatagram(const UdpHeader& h, std::size_t len, double arrival) {
  bytes += len;
  if (h.count >= packets + 1) {
    // Forward; a gap counts as lost until a late one fills it.
    if (h.count > packets + 1) errors += static_cast<std::int64_t>(h.count - 1 - packets);
    packets = h.count;
  } else {
    ++out_of_order;
    if (errors > 0) --errors;
  }
  const double sent = h.sec + h.usec / 1e6;
  const double transit = arrival - sent;
  double d = transit - prev_transit;
  if (d < 0) d = -d;
  prev_transit = transit;
  jitter += (d - jitter) / 16.0;
}

}  // namespace ringstack::proto::iperf3
