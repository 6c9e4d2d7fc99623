// The console commands that use ringstack's own sockets, as a person at the
// engine would: ping/ping6 (ICMP echo sockets), tcp-echo and udp-echo (send
// a text to a server, show what comes back). Registered by the composition
// root (engine/main.cc) next to the engine's own commands.
#ifndef RINGSTACK_SOCKETS_CONSOLE_COMMANDS_H_
#define RINGSTACK_SOCKETS_CONSOLE_COMMANDS_H_

#include "engine/console/console.h"
#include "sockets/api.h"

namespace ringstack::sockets {

void AddSocketCommands(engine::Console& console, Stack& stack);

}  // namespace ringstack::sockets

#endif  // RINGSTACK_SOCKETS_CONSOLE_COMMANDS_H_
