// Console: the engine's control server (ringstack-ctl is its client).
//
// Commands are lines of words ("show tcp --json", "ping 192.0.2.1 -c 3",
// "tcp-echo 192.0.2.1 7 \"hello there\""); a command's name is its first one
// or two words. The engine registers the show/capture/log commands
// (engine_commands.h), the composition root those that need sockets (ping,
// echo clients). Execute runs one line and returns 0 (done), 1 (the command
// ran and failed: a ping without replies) or 2 (unknown command, bad
// arguments: one line "error: ..." with a hint).
//
// Serving: a Unix stream socket. A client writes a line; the answer is the
// command's text, as it is written, then a NUL byte, the status digit and a
// newline. Each client has a thread of its own (at most kMaxClients at once),
// so a slow ping never holds another client; commands read engine state
// through snapshots, counters and Engine::OnShard, never taking a lock the
// data path holds, so the console never stalls it.
#ifndef RINGSTACK_ENGINE_CONSOLE_CONSOLE_H_
#define RINGSTACK_ENGINE_CONSOLE_CONSOLE_H_

#include <atomic>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "engine/log.h"

namespace ringstack::engine {

// Where a command writes its answer.
class ConsoleOutput {
 public:
  virtual ~ConsoleOutput() = default;
  // Sent as written (a ping's lines arrive one by one).
  virtual void Write(std::string_view text) = 0;
  // The client went away or the console is stopping: long commands end early.
  virtual bool cancelled() const { return false; }
};

// An output that keeps the text (tests, ringstack --console-run).
class StringOutput final : public ConsoleOutput {
 public:
  void Write(std::string_view text) override { text_.append(text); }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

// The words after a command's name, with helpers that take what they know.
class ConsoleArgs {
 public:
  explicit ConsoleArgs(std::vector<std::string> words) : words_(std::move(words)) {}
  // Removes `flag` ("--json") wherever it is; true when it was there.
  bool Flag(std::string_view flag);
  // Removes "-c N" (or "-c=N"); the value, nullopt when absent. A flag with
  // no value sets `error`.
  std::optional<std::string> Option(std::string_view name);
  // Removes and returns the first remaining word (nullopt when none).
  std::optional<std::string> Next();
  const std::vector<std::string>& rest() const { return words_; }
  std::string error;

 private:
  std::vector<std::string> words_;
};

class Console {
 public:
  static constexpr int kOk = 0, kFailed = 1, kUsage = 2;
  static constexpr std::size_t kMaxClients = 16;
  static constexpr std::size_t kMaxLine = 4096;

  using Handler = std::function<int(ConsoleArgs& args, ConsoleOutput& out)>;

  // `logger`: where client connections and commands are logged (subsystem
  // console, debug level); none in tests.
  explicit Console(const Logger* logger = nullptr);
  ~Console();
  Console(const Console&) = delete;
  Console& operator=(const Console&) = delete;

  // `name`: one or two words; `usage`: the whole syntax; `help`: one line.
  // Before Listen.
  void Add(std::string name, std::string usage, std::string help, Handler fn);

  // Runs one command line.
  int Execute(std::string_view line, ConsoleOutput& out) const;

  // Serves on a Unix socket at `path` (its directory is made if missing; a
  // stale socket file is replaced, a live one is an error).
  absl::Status Listen(const std::string& path);
  // Ends every client (their commands see cancelled()) and removes the socket.
  void Stop();
  const std::string& path() const { return path_; }

  // For a command's error: "error: <what>; usage: <usage>", status kUsage.
  static int UsageError(ConsoleOutput& out, std::string_view what, std::string_view usage);
  // A word of the client's for an error message: 'word', with control and
  // non-ASCII bytes escaped (\x1b) and cut at 64 characters.
  static std::string Quote(std::string_view word);
  // kUsage with a message when `args` has words left or an option error.
  static bool ArgsDone(ConsoleArgs& args, ConsoleOutput& out, std::string_view usage);

 private:
  struct Command {
    std::vector<std::string> words;
    std::string usage, help;
    Handler fn;
  };
  struct Client {
    std::thread thread;
    std::atomic<bool> done{false};
  };
  int Help(ConsoleArgs& args, ConsoleOutput& out) const;
  int Unknown(const std::vector<std::string>& words, ConsoleOutput& out) const;
  void AcceptLoop();
  void Serve(int fd, Client* self);

  std::vector<Command> commands_;
  const Logger* logger_;
  std::string path_;
  int listen_fd_ = -1;
  int stop_pipe_[2] = {-1, -1};
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  std::mutex clients_mu_;
  std::list<Client> clients_;
};

// Splits a command line into words: blanks separate, "double quotes" group
// (with \" and \\ inside). An unterminated quote sets `error`.
std::vector<std::string> SplitCommandLine(std::string_view line, std::string& error);

}  // namespace ringstack::engine

#endif  // RINGSTACK_ENGINE_CONSOLE_CONSOLE_H_
