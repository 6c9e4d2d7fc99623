#include "protocols/iperf3/iperf3_control.h"

#include "protocols/iperf3/iperf3.h"

namespace ringstack::proto::iperf3 {

ClientStep ClientOnState(ClientPhase phase, bool creating, std::int8_t byte) {
  const auto state = static_cast<State>(byte);
  switch (state) {
    case State::kAccessDenied: return {ClientAction::kAccessDenied, phase};
    case State::kServerError: return {ClientAction::kServerError, phase};
    case State::kServerTerminate: return {ClientAction::kServerTerminate, phase};
    default: break;
  }
  switch (phase) {
    case ClientPhase::kParamExchange:
      if (state == State::kParamExchange) return {ClientAction::kSendParams, ClientPhase::kCreateStreams};
      break;
    case ClientPhase::kCreateStreams:
      if (state == State::kCreateStreams && !creating) return {ClientAction::kOpenStreams, ClientPhase::kCreateStreams};
      if (state == State::kTestStart && creating) return {ClientAction::kAwaitRunning, ClientPhase::kStarting};
      break;
    case ClientPhase::kStarting:
      if (state == State::kTestRunning) return {ClientAction::kStartTest, ClientPhase::kRunning};
      break;
    case ClientPhase::kWaitExchange:
      if (state == State::kExchangeResults) return {ClientAction::kSendResults, ClientPhase::kServerResults};
      break;
    case ClientPhase::kWaitDisplay:
      if (state == State::kDisplayResults) return {ClientAction::kFinish, ClientPhase::kDone};
      break;
    case ClientPhase::kConnect:
    case ClientPhase::kRunning:
    case ClientPhase::kServerResults:
    case ClientPhase::kDone:
      break;
  }
  return {ClientAction::kUnexpected, phase};
}

std::string_view ClientPhaseName(ClientPhase phase) {
  switch (phase) {
    case ClientPhase::kConnect: return "connect";
    case ClientPhase::kParamExchange: return "param-exchange";
    case ClientPhase::kCreateStreams: return "create-streams";
    case ClientPhase::kStarting: return "starting";
    case ClientPhase::kRunning: return "running";
    case ClientPhase::kWaitExchange: return "wait-exchange";
    case ClientPhase::kServerResults: return "server-results";
    case ClientPhase::kWaitDisplay: return "wait-display";
    case ClientPhase::kDone: return "done";
  }
  return "?";
}

}  // namespace ringstack::proto::iperf3
