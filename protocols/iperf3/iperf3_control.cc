#include "protocols/iperf3/iperf3_control.h"

#include <optional>

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

namespace {

// What ends the test whatever the phase.
std::optional<ServerStep> ServerEnding(ServerPhase phase, ServerInput input, State state) {
  if (phase == ServerPhase::kDone) return ServerStep{ServerAction::kNone, ServerPhase::kDone};
  if (input == ServerInput::kTimeLimit) return ServerStep{ServerAction::kFailTimeLimit, ServerPhase::kDone};
  if (input == ServerInput::kState && state == State::kClientTerminate) {
    return ServerStep{ServerAction::kClientTerminated, ServerPhase::kDone};
  }
  if (input == ServerInput::kClosed && phase != ServerPhase::kDisplay) {
    return ServerStep{ServerAction::kClientGone, ServerPhase::kDone};
  }
  return std::nullopt;
}

}  // namespace

ServerStep ServerOnInput(ServerPhase phase, ServerInput input, std::int8_t byte) {
  const auto state = static_cast<State>(byte);
  if (const auto end = ServerEnding(phase, input, state)) return *end;
  const ServerStep none{ServerAction::kNone, phase};
  switch (phase) {
    case ServerPhase::kParams:
      if (input == ServerInput::kParams) return {ServerAction::kCreateStreams, ServerPhase::kCreating};
      if (input == ServerInput::kBadParams) return {ServerAction::kFailParams, ServerPhase::kDone};
      break;
    case ServerPhase::kCreating:
      if (input == ServerInput::kStreamsReady) return {ServerAction::kStartTest, ServerPhase::kRunning};
      break;
    case ServerPhase::kRunning:
      if (input != ServerInput::kState) break;
      if (state == State::kTestEnd) return {ServerAction::kExchangeResults, ServerPhase::kResults};
      return {ServerAction::kFailUnexpected, ServerPhase::kDone};
    case ServerPhase::kResults:
      if (input == ServerInput::kResults) return {ServerAction::kSendResults, ServerPhase::kDisplay};
      if (input == ServerInput::kBadResults) return {ServerAction::kFailResults, ServerPhase::kDone};
      break;
    case ServerPhase::kDisplay:
      // An older client closes instead of answering IPERF_DONE.
      if (input == ServerInput::kClosed) return {ServerAction::kFinish, ServerPhase::kDone};
      if (input != ServerInput::kState) break;
      if (state == State::kIperfDone) return {ServerAction::kFinish, ServerPhase::kDone};
      return {ServerAction::kWrongEnd, ServerPhase::kDone};
    case ServerPhase::kDone:
      break;
  }
  // A state byte where none is expected is out of turn.
  if (input == ServerInput::kState) return {ServerAction::kFailUnexpected, ServerPhase::kDone};
  return none;
}

std::string_view ServerPhaseName(ServerPhase phase) {
  switch (phase) {
    case ServerPhase::kParams: return "params";
    case ServerPhase::kCreating: return "creating";
    case ServerPhase::kRunning: return "running";
    case ServerPhase::kResults: return "results";
    case ServerPhase::kDisplay: return "display";
    case ServerPhase::kDone: return "done";
  }
  return "?";
}

}  // namespace ringstack::proto::iperf3
