// The client's side of iperf3's control sequence, as iperf3 3.x speaks it
// on the control connection: the phases a client goes through and what a
// state byte from the server makes it do in each. Pure: the phase, whether
// the data streams are being opened, and the byte in; the action and the
// next phase out. sockets/iperf3_client.cc carries the actions out.
//
//   client                                server
//   cookie                      ->
//                               <-        PARAM_EXCHANGE
//   parameters (JSON)           ->
//                               <-        CREATE_STREAMS
//   data connections (cookie)   ->
//                               <-        TEST_START, TEST_RUNNING
//   ... data ..., TEST_END      ->
//                               <-        EXCHANGE_RESULTS
//   results (JSON)              ->
//                               <-        results (JSON), DISPLAY_RESULTS
//   IPERF_DONE                  ->
//
// ACCESS_DENIED (busy), SERVER_ERROR and SERVER_TERMINATE end the test at
// any point, and so does a state out of turn.
#ifndef RINGSTACK_PROTOCOLS_IPERF3_IPERF3_CONTROL_H_
#define RINGSTACK_PROTOCOLS_IPERF3_IPERF3_CONTROL_H_

#include <cstdint>
#include <string_view>

namespace ringstack::proto::iperf3 {

enum class ClientPhase {
  kConnect,        // the control connection is being made
  kParamExchange,  // the cookie sent: waiting for PARAM_EXCHANGE
  kCreateStreams,  // the parameters sent: waiting for CREATE_STREAMS, then TEST_START
  kStarting,       // TEST_START came: waiting for TEST_RUNNING
  kRunning,        // the data moves; TEST_END goes when it is done
  kWaitExchange,   // TEST_END sent: waiting for EXCHANGE_RESULTS
  kServerResults,  // our results sent: the server's come (JSON, not a state byte)
  kWaitDisplay,    // waiting for DISPLAY_RESULTS
  kDone,
};

enum class ClientAction {
  kSendParams,       // send the parameters
  kOpenStreams,      // connect the data streams (the phase stays until TEST_START)
  kAwaitRunning,     // nothing to send yet
  kStartTest,        // start moving data
  kSendResults,      // send our results, then read the server's
  kFinish,           // answer IPERF_DONE: the test succeeded
  kAccessDenied,     // the server is busy with another test
  kServerError,      // the server failed (an iperf3 error number follows)
  kServerTerminate,  // the server ended the test
  kUnexpected,       // a state out of turn
};

struct ClientStep {
  ClientAction action;
  ClientPhase next;  // unchanged for the actions that end the test
};

// `creating`: CREATE_STREAMS has come and the streams are being opened.
ClientStep ClientOnState(ClientPhase phase, bool creating, std::int8_t state);

std::string_view ClientPhaseName(ClientPhase phase);

}  // namespace ringstack::proto::iperf3

#endif  // RINGSTACK_PROTOCOLS_IPERF3_IPERF3_CONTROL_H_
