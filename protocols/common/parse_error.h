// ParseError: why a wire view or repr refused some bytes. Every value is
// counted by the engine under "<proto>_drop_<name>", so names are stable.
#ifndef RINGSTACK_PROTOCOLS_COMMON_PARSE_ERROR_H_
#define RINGSTACK_PROTOCOLS_COMMON_PARSE_ERROR_H_

#include <cstdint>
#include <string_view>

namespace ringstack::proto {

enum class ParseError : std::uint8_t {
  kTruncated,          // fewer bytes than the fixed header or a length field says
  kBadVersion,         // IP version field wrong for the parser
  kBadHeaderLength,    // header length field below the minimum or past the data
  kBadTotalLength,     // total/payload length field inconsistent with the data
  kBadChecksum,        // checksum does not verify
  kBadHardwareType,    // ARP htype/hlen not Ethernet
  kBadProtocolType,    // ARP ptype/plen not IPv4
  kBadOperation,       // ARP oper not request/reply
  kBadSourceAddress,   // source is multicast/broadcast where a unicast is required
  kBadTtl,             // TTL 0 (PyTCP sanity rule; RFC 1122 3.2.1.7 forbids sending it)
  kUnsupportedType,    // e.g. an 802.3 length field instead of an EtherType; a BOOTP packet without the DHCP cookie
  kBadOption,          // an option runs past the data, has a wrong length, or a required one is missing
  kBadPort,            // a zero port where the protocol needs one (TCP)
  kBadFlags,           // a flag combination no sender may use (TCP SYN+FIN, SYN+RST)
  kCount,
};

inline constexpr int kParseErrorCount = static_cast<int>(ParseError::kCount);

constexpr std::string_view ParseErrorName(ParseError e) {
  switch (e) {
    case ParseError::kTruncated: return "truncated";
    case ParseError::kBadVersion: return "bad_version";
    case ParseError::kBadHeaderLength: return "bad_header_length";
    case ParseError::kBadTotalLength: return "bad_total_length";
    case ParseError::kBadChecksum: return "bad_checksum";
    case ParseError::kBadHardwareType: return "bad_hardware_type";
    case ParseError::kBadProtocolType: return "bad_protocol_type";
    case ParseError::kBadOperation: return "bad_operation";
    case ParseError::kBadSourceAddress: return "bad_source_address";
    case ParseError::kBadTtl: return "bad_ttl";
    case ParseError::kUnsupportedType: return "unsupported_type";
    case ParseError::kBadOption: return "bad_option";
    case ParseError::kBadPort: return "bad_port";
    case ParseError::kBadFlags: return "bad_flags";
    case ParseError::kCount: break;
  }
  return "unknown";
}

// The result of a Parse: a value or the reason there is none. (std::expected
// is C++23; this is the small part of it the parsers need.)
template <typename T>
class Parsed {
 public:
  Parsed(T value) : value_(value), ok_(true) {}           // NOLINT(google-explicit-constructor)
  Parsed(ParseError error) : value_(), error_(error) {}  // NOLINT(google-explicit-constructor)
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  ParseError error() const { return error_; }
  const T& value() const { return value_; }
  const T& operator*() const { return value_; }
  const T* operator->() const { return &value_; }

 private:
  T value_;
  ParseError error_ = ParseError::kCount;
  bool ok_ = false;
};

}  // namespace ringstack::proto

#endif  // RINGSTACK_PROTOCOLS_COMMON_PARSE_ERROR_H_
