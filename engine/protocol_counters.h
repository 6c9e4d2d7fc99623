// The counter structs of a shard's IP-level protocols (Ethernet dispatch,
// ACD, IPv4, ICMPv4, DHCPv4, IPv6, ICMPv6, ND, MLD; ARP's and the neighbour
// queues' are neighbour_layer.h's): one Counter per event, each struct with
// its field table giving the exported names ("<proto>_<event>",
// "<proto>_drop_<reason>"). The parse errors each protocol counts are
// DropCounters (shard_context.h).
#ifndef RINGSTACK_ENGINE_PROTOCOL_COUNTERS_H_
#define RINGSTACK_ENGINE_PROTOCOL_COUNTERS_H_

#include "engine/counters.h"

namespace ringstack::engine {

// Ethernet dispatch: frames in, and those no protocol here takes.
struct EthCounters {
  Counter rx;
  Counter drop_not_for_us;
  Counter drop_unknown_ethertype;
  Counter drop_multicast_filtered;
};

inline constexpr CounterField<EthCounters> kEthCounterFields[] = {
    {"eth_rx", &EthCounters::rx},
    {"eth_drop_not_for_us", &EthCounters::drop_not_for_us},
    {"eth_drop_unknown_ethertype", &EthCounters::drop_unknown_ethertype},
    {"eth_drop_multicast_filtered", &EthCounters::drop_multicast_filtered},
};

// Address Conflict Detection (RFC 5227) on ARP: probes and announcements
// sent, addresses claimed, conflicts found and defended.
struct AcdCounters {
  Counter probe;
  Counter announce;
  Counter claimed;
  Counter conflict;
  Counter defend;
};

inline constexpr CounterField<AcdCounters> kAcdCounterFields[] = {
    {"arp_acd_probe", &AcdCounters::probe},
    {"arp_acd_announce", &AcdCounters::announce},
    {"arp_acd_claimed", &AcdCounters::claimed},
    {"arp_acd_conflict", &AcdCounters::conflict},
    {"arp_acd_defend", &AcdCounters::defend},
};

// IPv4: datagrams each way, fragments and reassembly, and why datagrams were
// not delivered or not sent.
struct Ipv4Counters {
  Counter rx;
  Counter drop_not_for_us;
  Counter drop_source_broadcast;  // from a directed broadcast of one of our networks (RFC 1122 3.2.1.3)
  Counter rx_fragment;
  Counter rx_reassembled;
  Counter frag_duplicate;
  Counter reassembly_timeout;
  Counter frag_evicted;
  Counter tx_fragment;
  Counter drop_df_too_big;
  Counter drop_protocol_unhandled;
  Counter drop_no_route;
  Counter tx;
  Counter rx_unknown_protocol;
};

inline constexpr CounterField<Ipv4Counters> kIpv4CounterFields[] = {
    {"ipv4_rx", &Ipv4Counters::rx},
    {"ipv4_drop_not_for_us", &Ipv4Counters::drop_not_for_us},
    {"ipv4_drop_source_broadcast", &Ipv4Counters::drop_source_broadcast},
    {"ipv4_rx_fragment", &Ipv4Counters::rx_fragment},
    {"ipv4_rx_reassembled", &Ipv4Counters::rx_reassembled},
    {"ipv4_frag_duplicate", &Ipv4Counters::frag_duplicate},
    {"ipv4_reassembly_timeout", &Ipv4Counters::reassembly_timeout},
    {"ipv4_frag_evicted", &Ipv4Counters::frag_evicted},
    {"ipv4_tx_fragment", &Ipv4Counters::tx_fragment},
    {"ipv4_drop_df_too_big", &Ipv4Counters::drop_df_too_big},
    {"ipv4_drop_protocol_unhandled", &Ipv4Counters::drop_protocol_unhandled},
    {"ipv4_drop_no_route", &Ipv4Counters::drop_no_route},
    {"ipv4_tx", &Ipv4Counters::tx},
    {"ipv4_rx_unknown_protocol", &Ipv4Counters::rx_unknown_protocol},
};

// Neighbor Discovery (RFC 4861, 4862): messages each way, DAD, resolutions
// that failed.
struct NdCounters {
  Counter rx_ns;
  Counter rx_na;
  Counter rx_ra;
  Counter rx_redirect;
  Counter tx_ns;
  Counter tx_na;
  Counter tx_rs;
  Counter dad_ns;
  Counter dad_duplicate;
  Counter drop_invalid;
};

inline constexpr CounterField<NdCounters> kNdCounterFields[] = {
    {"nd_rx_ns", &NdCounters::rx_ns},
    {"nd_rx_na", &NdCounters::rx_na},
    {"nd_rx_ra", &NdCounters::rx_ra},
    {"nd_rx_redirect", &NdCounters::rx_redirect},
    {"nd_tx_ns", &NdCounters::tx_ns},
    {"nd_tx_na", &NdCounters::tx_na},
    {"nd_tx_rs", &NdCounters::tx_rs},
    {"nd_dad_ns", &NdCounters::dad_ns},
    {"nd_dad_duplicate", &NdCounters::dad_duplicate},
    {"nd_drop_invalid", &NdCounters::drop_invalid},
};

// ICMPv4: echo, the errors received and sent, and those the rules (RFC 1122
// 3.2.2) or the rate limit held back.
struct Icmp4Counters {
  Counter rx_echo_request;
  Counter rx_echo_reply;
  Counter rx_other;
  Counter tx_echo_reply;
  Counter drop_echo_to_group;
  Counter tx_dest_unreachable;
  Counter error_suppressed;
  Counter error_rate_limited;
  Counter tx_time_exceeded;
  Counter rx_dest_unreachable;
  Counter rx_time_exceeded;
  Counter rx_param_problem;
  Counter rx_frag_needed;
};

inline constexpr CounterField<Icmp4Counters> kIcmp4CounterFields[] = {
    {"icmp4_rx_echo_request", &Icmp4Counters::rx_echo_request},
    {"icmp4_rx_echo_reply", &Icmp4Counters::rx_echo_reply},
    {"icmp4_rx_other", &Icmp4Counters::rx_other},
    {"icmp4_tx_echo_reply", &Icmp4Counters::tx_echo_reply},
    {"icmp4_drop_echo_to_group", &Icmp4Counters::drop_echo_to_group},
    {"icmp4_tx_dest_unreachable", &Icmp4Counters::tx_dest_unreachable},
    {"icmp4_error_suppressed", &Icmp4Counters::error_suppressed},
    {"icmp4_error_rate_limited", &Icmp4Counters::error_rate_limited},
    {"icmp4_tx_time_exceeded", &Icmp4Counters::tx_time_exceeded},
    {"icmp4_rx_dest_unreachable", &Icmp4Counters::rx_dest_unreachable},
    {"icmp4_rx_time_exceeded", &Icmp4Counters::rx_time_exceeded},
    {"icmp4_rx_param_problem", &Icmp4Counters::rx_param_problem},
    {"icmp4_rx_frag_needed", &Icmp4Counters::rx_frag_needed},
};

// the DHCPv4 client: messages each way and lease events.
struct Dhcp4Counters {
  Counter tx;
  Counter rx;
  Counter rx_ignored;
  Counter bound;
  Counter renewed;
  Counter declined;
  Counter lost;
};

inline constexpr CounterField<Dhcp4Counters> kDhcp4CounterFields[] = {
    {"dhcp4_tx", &Dhcp4Counters::tx},
    {"dhcp4_rx", &Dhcp4Counters::rx},
    {"dhcp4_rx_ignored", &Dhcp4Counters::rx_ignored},
    {"dhcp4_bound", &Dhcp4Counters::bound},
    {"dhcp4_renewed", &Dhcp4Counters::renewed},
    {"dhcp4_declined", &Dhcp4Counters::declined},
    {"dhcp4_lost", &Dhcp4Counters::lost},
};

// IPv6: datagrams each way, fragments and reassembly, and why datagrams were
// not delivered or not sent.
struct Ipv6Counters {
  Counter rx;
  Counter tx;
  Counter drop_not_for_us;
  Counter drop_no_route;
  Counter drop_too_big;
  Counter rx_no_next_header;
  Counter drop_protocol_unhandled;
  Counter rx_fragment;
  Counter rx_reassembled;
  Counter frag_duplicate;
  Counter frag_evicted;
  Counter reassembly_timeout;
  Counter tx_fragment;
};

inline constexpr CounterField<Ipv6Counters> kIpv6CounterFields[] = {
    {"ipv6_rx", &Ipv6Counters::rx},
    {"ipv6_tx", &Ipv6Counters::tx},
    {"ipv6_drop_not_for_us", &Ipv6Counters::drop_not_for_us},
    {"ipv6_drop_no_route", &Ipv6Counters::drop_no_route},
    {"ipv6_drop_too_big", &Ipv6Counters::drop_too_big},
    {"ipv6_rx_no_next_header", &Ipv6Counters::rx_no_next_header},
    {"ipv6_drop_protocol_unhandled", &Ipv6Counters::drop_protocol_unhandled},
    {"ipv6_rx_fragment", &Ipv6Counters::rx_fragment},
    {"ipv6_rx_reassembled", &Ipv6Counters::rx_reassembled},
    {"ipv6_frag_duplicate", &Ipv6Counters::frag_duplicate},
    {"ipv6_frag_evicted", &Ipv6Counters::frag_evicted},
    {"ipv6_reassembly_timeout", &Ipv6Counters::reassembly_timeout},
    {"ipv6_tx_fragment", &Ipv6Counters::tx_fragment},
};

// ICMPv6: echo, the errors received and sent, and those the rules (RFC 4443
// 2.4) or the rate limit held back.
struct Icmp6Counters {
  Counter rx_echo_request;
  Counter tx_echo_reply;
  Counter rx_echo_reply;
  Counter rx_error;
  Counter rx_other;
  Counter tx_param_problem;
  Counter error_suppressed;
  Counter error_rate_limited;
  Counter tx_dest_unreachable;
  Counter tx_time_exceeded;
  Counter rx_packet_too_big;
};

inline constexpr CounterField<Icmp6Counters> kIcmp6CounterFields[] = {
    {"icmp6_rx_echo_request", &Icmp6Counters::rx_echo_request},
    {"icmp6_tx_echo_reply", &Icmp6Counters::tx_echo_reply},
    {"icmp6_rx_echo_reply", &Icmp6Counters::rx_echo_reply},
    {"icmp6_rx_error", &Icmp6Counters::rx_error},
    {"icmp6_rx_other", &Icmp6Counters::rx_other},
    {"icmp6_tx_param_problem", &Icmp6Counters::tx_param_problem},
    {"icmp6_error_suppressed", &Icmp6Counters::error_suppressed},
    {"icmp6_error_rate_limited", &Icmp6Counters::error_rate_limited},
    {"icmp6_tx_dest_unreachable", &Icmp6Counters::tx_dest_unreachable},
    {"icmp6_tx_time_exceeded", &Icmp6Counters::tx_time_exceeded},
    {"icmp6_rx_packet_too_big", &Icmp6Counters::rx_packet_too_big},
};

// MLDv2 (RFC 3810): queries heard, reports sent.
struct MldCounters {
  Counter rx_query;
  Counter rx_report_ignored;
  Counter tx_report;
};

inline constexpr CounterField<MldCounters> kMldCounterFields[] = {
    {"mld_rx_query", &MldCounters::rx_query},
    {"mld_rx_report_ignored", &MldCounters::rx_report_ignored},
    {"mld_tx_report", &MldCounters::tx_report},
};

}  // namespace ringstack::engine

#endif  // RINGSTACK_ENGINE_PROTOCOL_COUNTERS_H_
