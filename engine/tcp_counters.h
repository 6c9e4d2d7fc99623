// The TCP layer's counters on one shard (beside TcpStats, which the
// connections count themselves): one Counter each, exported as "tcp_<name>".
#ifndef RINGSTACK_ENGINE_TCP_COUNTERS_H_
#define RINGSTACK_ENGINE_TCP_COUNTERS_H_

#include "engine/counters.h"

namespace ringstack::engine {

struct TcpCounters {
  Counter rx;  // segments that parsed
  Counter tx;  // segments sent (a super-segment counts each it stands for)
  Counter tx_rst;  // RSTs sent
  Counter tx_tso;  // super-segments sent (each several tx)
  Counter tx_window_update;  // ACKs a read sent (the window opened)
  Counter rx_no_socket;  // segments no connection or listener took (a RST answers)
  Counter drop_listen;  // an RST, or neither SYN nor ACK, to a listening port
  Counter syn_backlog_full;  // SYNs past a listener's backlog (a cookie, or dropped)
  Counter drop_session_limit;  // a SYN (or cookie ACK) for a full session table
  Counter session_limit_refused;  // connect() on a full table: ENOBUFS
  Counter half_open_limit;  // SYNs past --tcp-max-half-open (a cookie, or dropped)
  Counter opened_active;  // connect()s begun
  Counter opened_passive;  // handshakes begun from a SYN or a cookie
  Counter established;  // handshakes completed
  Counter closed;  // connections ended (CLOSED)
  Counter syncookies_sent;  // SYN-ACKs carrying a cookie
  Counter syncookies_ok;  // cookie ACKs that made a connection
  Counter syncookies_failed;  // ACKs while cookies were out that held none of ours
  Counter accept_queue_full;  // good cookie ACKs with the accept queue full
  Counter drop_to_group;  // segments to a multicast or broadcast address (RFC 1122 4.2.3.10)
  Counter aborted_address_lost;  // connections closed because their IPv4 address went
  Counter pmtu_no_session;  // ICMP path MTU reports quoting a connection this host does not have
  // RFC 7413 TCP Fast Open, the listeners' side (the clients' is in the
  // connections' stats: tcp_fastopen_active, tcp_fastopen_active_fail).
  Counter fastopen_passive;        // SYNs with a good cookie: their data taken, queued for accept at once
  Counter fastopen_cookie_reqd;    // SYNs asking for a cookie (the SYN-ACK brought one)
  Counter fastopen_passive_fail;   // SYNs with a cookie not ours (data ignored; a good one sent)
  Counter fastopen_listen_overflow;  // good cookies past the listener's queue (a plain open)
  Counter fastopen_syn_plain;      // active opens that sent a plain SYN: Fast Open to the server off for now
};

inline constexpr CounterField<TcpCounters> kTcpCounterFields[] = {
    {"tcp_rx", &TcpCounters::rx},
    {"tcp_pmtu_no_session", &TcpCounters::pmtu_no_session},
    {"tcp_tx", &TcpCounters::tx},
    {"tcp_tx_rst", &TcpCounters::tx_rst},
    {"tcp_tx_tso", &TcpCounters::tx_tso},
    {"tcp_tx_window_update", &TcpCounters::tx_window_update},
    {"tcp_rx_no_socket", &TcpCounters::rx_no_socket},
    {"tcp_drop_listen", &TcpCounters::drop_listen},
    {"tcp_syn_backlog_full", &TcpCounters::syn_backlog_full},
    {"tcp_drop_session_limit", &TcpCounters::drop_session_limit},
    {"tcp_session_limit_refused", &TcpCounters::session_limit_refused},
    {"tcp_half_open_limit", &TcpCounters::half_open_limit},
    {"tcp_opened_active", &TcpCounters::opened_active},
    {"tcp_opened_passive", &TcpCounters::opened_passive},
    {"tcp_established", &TcpCounters::established},
    {"tcp_closed", &TcpCounters::closed},
    {"tcp_syncookies_sent", &TcpCounters::syncookies_sent},
    {"tcp_syncookies_ok", &TcpCounters::syncookies_ok},
    {"tcp_syncookies_failed", &TcpCounters::syncookies_failed},
    {"tcp_accept_queue_full", &TcpCounters::accept_queue_full},
    {"tcp_drop_to_group", &TcpCounters::drop_to_group},
    {"tcp_aborted_address_lost", &TcpCounters::aborted_address_lost},
    {"tcp_fastopen_passive", &TcpCounters::fastopen_passive},
    {"tcp_fastopen_cookie_reqd", &TcpCounters::fastopen_cookie_reqd},
    {"tcp_fastopen_passive_fail", &TcpCounters::fastopen_passive_fail},
    {"tcp_fastopen_listen_overflow", &TcpCounters::fastopen_listen_overflow},
    {"tcp_fastopen_syn_plain", &TcpCounters::fastopen_syn_plain},
};

}  // namespace ringstack::engine

#endif  // RINGSTACK_ENGINE_TCP_COUNTERS_H_
