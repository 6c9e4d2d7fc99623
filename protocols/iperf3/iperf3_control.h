// Both sides of iperf3's control sequence, as iperf3 3.x speaks it on the
// control connection: the phases each side goes through and what comes to
// it in each. Pure: the phase and what came in; the action and the next
// phase out. sockets/iperf3_client.cc and iperf3_server.cc do the I/O and
// carry the actions out.
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
// any point, and so does a state out of turn. On the server's side,
// CLIENT_TERMINATE while the test runs ends it; so do a control connection
// closed out of turn and a phase that outlasts its time.
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

enum class ServerPhase {
  kParams,    // the cookie came, PARAM_EXCHANGE sent: waiting for the parameters
  kCreating,  // CREATE_STREAMS sent: waiting for every data connection
  kRunning,   // the data moves until the client's TEST_END
  kResults,   // EXCHANGE_RESULTS sent: waiting for the client's results
  kDisplay,   // our results and DISPLAY_RESULTS sent: waiting for IPERF_DONE
  kDone,
};

// What came to the server (the I/O layer reads and parses it).
enum class ServerInput {
  kParams,        // the parameters, valid
  kBadParams,     // parameters that do not parse, or a length out of range
  kStreamsReady,  // every data stream the parameters ask for is connected
  kState,         // a state byte from the client (ServerOnInput's `state`)
  kResults,       // the client's results, valid
  kBadResults,    // results that do not parse, or a length out of range
  kClosed,        // the client closed the control connection (all we sent is out)
  kTimeLimit,     // the phase outlasted its time
};

enum class ServerAction {
  kCreateStreams,     // send CREATE_STREAMS
  kStartTest,         // send TEST_START and TEST_RUNNING; move data
  kExchangeResults,   // the final report; send EXCHANGE_RESULTS
  kSendResults,       // send our results and DISPLAY_RESULTS
  kFinish,            // the test succeeded
  kClientTerminated,  // the client ended the test early (CLIENT_TERMINATE)
  kClientGone,        // the control connection closed out of turn
  kFailParams,        // SERVER_ERROR (IERECVPARAMS), end
  kFailResults,       // SERVER_ERROR (IERECVRESULTS), end
  kFailUnexpected,    // SERVER_ERROR (IEMESSAGE): a state out of turn, end
  kFailTimeLimit,     // SERVER_ERROR (IEMESSAGE): the client went silent, end
  kWrongEnd,          // not IPERF_DONE after DISPLAY_RESULTS: end, the results given
  kNone,              // nothing for this phase
};

struct ServerStep {
  ServerAction action;
  ServerPhase next;  // kDone for the actions that end the test
};

ServerStep ServerOnInput(ServerPhase phase, ServerInput input, std::int8_t state = 0);

std::string_view ServerPhaseName(ServerPhase phase);

}  // namespace ringstack::proto::iperf3

#endif  // RINGSTACK_PROTOCOLS_IPERF3_IPERF3_CONTROL_H_
