#include "engine/console/console.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ringstack::engine {
namespace {

// Levenshtein distance, for "did you mean".
std::size_t Distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

bool SendAll(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::send(fd, text.data(), text.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

class SocketOutput final : public ConsoleOutput {
 public:
  SocketOutput(int fd, const std::atomic<bool>& stopping) : fd_(fd), stopping_(stopping) {}
  // A NUL ends an answer on the wire, and control bytes would steer the
  // client's terminal: any in the text (a word of the client's quoted back)
  // go as \xNN. Newlines and tabs pass.
  void Write(std::string_view text) override {
    if (gone_) return;
    const auto unsafe = [](char c) {
      const auto u = static_cast<unsigned char>(c);
      return (u < 0x20 && c != '\n' && c != '\t') || u == 0x7f;
    };
    if (std::none_of(text.begin(), text.end(), unsafe)) {
      if (!SendAll(fd_, text)) gone_ = true;
      return;
    }
    std::string clean;
    for (const char c : text) {
      if (unsafe(c)) {
        absl::StrAppend(&clean, "\\x", absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2));
      } else {
        clean += c;
      }
    }
    if (!SendAll(fd_, clean)) gone_ = true;
  }
  // The end of an answer: NUL, the status, a newline.
  void End(int status) {
    if (!gone_ && !SendAll(fd_, absl::StrCat(std::string(1, '\0'), status, "\n"))) gone_ = true;
  }
  bool cancelled() const override {
    if (gone_ || stopping_.load(std::memory_order_relaxed)) return true;
    // A client that hung up while we work (ctl killed mid-ping).
    pollfd p{fd_, POLLRDHUP, 0};
    return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
  }

 private:
  int fd_;
  const std::atomic<bool>& stopping_;
  bool gone_ = false;
};

}  // namespace

std::vector<std::string> SplitCommandLine(std::string_view line, std::string& error) {
  std::vector<std::string> words;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r' || line[i] == '\n')) ++i;
    if (i >= line.size()) break;
    std::string word;
    if (line[i] == '"') {
      ++i;
      bool closed = false;
      while (i < line.size()) {
        if (line[i] == '\\' && i + 1 < line.size() && (line[i + 1] == '"' || line[i + 1] == '\\')) {
          word += line[i + 1];
          i += 2;
        } else if (line[i] == '"') {
          ++i;
          closed = true;
          break;
        } else {
          word += line[i++];
        }
      }
      if (!closed) {
        error = "unterminated quote";
        return {};
      }
    } else {
      while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r' && line[i] != '\n') {
        word += line[i++];
      }
    }
    words.push_back(std::move(word));
  }
  return words;
}

bool ConsoleArgs::Flag(std::string_view flag) {
  const auto it = std::find(words_.begin(), words_.end(), flag);
  if (it == words_.end()) return false;
  words_.erase(it);
  return true;
}

std::optional<std::string> ConsoleArgs::Option(std::string_view name) {
  for (std::size_t i = 0; i < words_.size(); ++i) {
    if (words_[i] == name) {
      if (i + 1 >= words_.size()) {
        error = absl::StrCat(std::string(name), " needs a value");
        words_.erase(words_.begin() + static_cast<std::ptrdiff_t>(i));
        return std::nullopt;
      }
      std::string v = words_[i + 1];
      words_.erase(words_.begin() + static_cast<std::ptrdiff_t>(i), words_.begin() + static_cast<std::ptrdiff_t>(i + 2));
      return v;
    }
    if (words_[i].size() > name.size() + 1 && words_[i].compare(0, name.size(), name) == 0 &&
        words_[i][name.size()] == '=') {
      std::string v = words_[i].substr(name.size() + 1);
      words_.erase(words_.begin() + static_cast<std::ptrdiff_t>(i));
      return v;
    }
  }
  return std::nullopt;
}

std::optional<std::string> ConsoleArgs::Next() {
  if (words_.empty()) return std::nullopt;
  std::string w = std::move(words_.front());
  words_.erase(words_.begin());
  return w;
}

Console::Console(const Logger* logger) : logger_(logger) {}

Console::~Console() { Stop(); }

void Console::Add(std::string name, std::string usage, std::string help, Handler fn) {
  std::string error;
  commands_.push_back(Command{SplitCommandLine(name, error), std::move(usage), std::move(help), std::move(fn)});
}

std::string Console::Quote(std::string_view word) {
  std::string w = absl::CHexEscape(absl::string_view(word.data(), word.size()));
  if (w.size() > 64) w = w.substr(0, 61) + "...";
  return absl::StrCat("'", w, "'");
}

int Console::UsageError(ConsoleOutput& out, std::string_view what, std::string_view usage) {
  out.Write(absl::StrCat("error: ", std::string(what), "; usage: ", std::string(usage), "\n"));
  return kUsage;
}

bool Console::ArgsDone(ConsoleArgs& args, ConsoleOutput& out, std::string_view usage) {
  if (!args.error.empty()) {
    UsageError(out, args.error, usage);
    return false;
  }
  if (!args.rest().empty()) {
    UsageError(out, absl::StrCat("unexpected ", Quote(args.rest().front())), usage);
    return false;
  }
  return true;
}

int Console::Execute(std::string_view line, ConsoleOutput& out) const {
  std::string error;
  std::vector<std::string> words = SplitCommandLine(line, error);
  if (!error.empty()) {
    out.Write(absl::StrCat("error: ", error, "; try 'help'\n"));
    return kUsage;
  }
  if (words.empty()) return kOk;
  if (words[0] == "help" || words[0] == "?") {
    ConsoleArgs args({words.begin() + 1, words.end()});
    return Help(args, out);
  }
  // The longest registered name that starts the line.
  const Command* best = nullptr;
  for (const Command& c : commands_) {
    if (c.words.size() > words.size()) continue;
    if (!std::equal(c.words.begin(), c.words.end(), words.begin())) continue;
    if (best == nullptr || c.words.size() > best->words.size()) best = &c;
  }
  if (best == nullptr) return Unknown(words, out);
  ConsoleArgs args({words.begin() + static_cast<std::ptrdiff_t>(best->words.size()), words.end()});
  if (args.Flag("--help") || args.Flag("-h")) {
    out.Write(absl::StrCat("usage: ", best->usage, "\n  ", best->help, "\n"));
    return kOk;
  }
  return best->fn(args, out);
}

int Console::Unknown(const std::vector<std::string>& words, ConsoleOutput& out) const {
  // A known first word ("show") with an unknown second: list the choices.
  std::vector<std::string> seconds;
  for (const Command& c : commands_) {
    if (c.words.size() == 2 && c.words[0] == words[0]) seconds.push_back(c.words[1]);
  }
  const std::string typed = absl::StrJoin(words.begin(), words.begin() + std::min<std::size_t>(words.size(), 2), " ");
  if (!seconds.empty()) {
    out.Write(absl::StrCat("error: unknown command ", Quote(typed), "; ", words[0], " what? one of: ",
                           absl::StrJoin(seconds, ", "), "\n"));
    return kUsage;
  }
  std::string guess;
  std::size_t best = 3;
  for (const Command& c : commands_) {
    const std::size_t d = Distance(words[0], c.words[0]);
    if (d < best) {
      best = d;
      guess = c.words[0];
    }
  }
  out.Write(absl::StrCat("error: unknown command ", Quote(words[0]), "; ",
                         guess.empty() ? std::string("") : absl::StrCat("did you mean '", guess, "'? "),
                         "try 'help'\n"));
  return kUsage;
}

int Console::Help(ConsoleArgs& args, ConsoleOutput& out) const {
  const std::vector<std::string> filter = args.rest();
  // Usages past kWidth get a line of their own, the help under them.
  constexpr std::size_t kWidth = 44;
  std::size_t width = 0;
  for (const Command& c : commands_) {
    if (c.usage.size() <= kWidth) width = std::max(width, c.usage.size());
  }
  std::string text;
  for (const Command& c : commands_) {
    if (!filter.empty() && !std::equal(filter.begin(), filter.begin() + std::min(filter.size(), c.words.size()),
                                       c.words.begin())) {
      continue;
    }
    if (c.usage.size() > width) {
      absl::StrAppend(&text, c.usage, "\n", std::string(width + 2, ' '), c.help, "\n");
    } else {
      absl::StrAppend(&text, c.usage, std::string(width + 2 - c.usage.size(), ' '), c.help, "\n");
    }
  }
  if (text.empty()) {
    out.Write(absl::StrCat("error: no command starts with ", Quote(absl::StrJoin(filter, " ")), "; try 'help'\n"));
    return kUsage;
  }
  if (filter.empty()) text += "every show command takes --json; 'COMMAND --help' shows one command\n";
  out.Write(text);
  return kOk;
}

absl::Status Console::Listen(const std::string& path) {
  if (path.size() >= sizeof(sockaddr_un::sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("console path too long (", path.size(), " bytes): ", path));
  }
  std::error_code ec;
  const auto dir = std::filesystem::path(path).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InvalidArgumentError(absl::StrCat("cannot make ", dir.string(), ": ", ec.message()));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  // A socket file left by an engine that died is replaced; one that answers is not.
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return absl::AlreadyExistsError(absl::StrCat(path, " exists and is not a socket"));
    const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const bool live = probe >= 0 && ::connect(probe, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    if (probe >= 0) ::close(probe);
    if (live) {
      return absl::AlreadyExistsError(
          absl::StrCat("another ringstack serves a console at ", path, " (give this one --console PATH)"));
    }
    ::unlink(path.c_str());
  }
  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return absl::InternalError(absl::StrCat("console socket: ", std::strerror(errno)));
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(listen_fd_, 16) != 0) {
    const std::string why = std::strerror(errno);
    ::close(listen_fd_);
    listen_fd_ = -1;
    return absl::InvalidArgumentError(absl::StrCat("cannot listen on ", path, ": ", why));
  }
  ::chmod(path.c_str(), 0660);  // the engine's user and group only
  if (::pipe2(stop_pipe_, O_CLOEXEC) != 0) return absl::InternalError("console: pipe2 failed");
  path_ = path;
  acceptor_ = std::thread([this] { AcceptLoop(); });
  return absl::OkStatus();
}

void Console::Stop() {
  if (!acceptor_.joinable()) return;
  stopping_.store(true, std::memory_order_relaxed);
  (void)!::write(stop_pipe_[1], "x", 1);  // stays readable: wakes every poll
  acceptor_.join();
  {
    std::lock_guard lock(clients_mu_);
    for (Client& c : clients_) {
      if (c.thread.joinable()) c.thread.join();
    }
    clients_.clear();
  }
  ::close(listen_fd_);
  ::close(stop_pipe_[0]);
  ::close(stop_pipe_[1]);
  listen_fd_ = stop_pipe_[0] = stop_pipe_[1] = -1;
  ::unlink(path_.c_str());
}

void Console::AcceptLoop() {
  while (!stopping_.load(std::memory_order_relaxed)) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) return;
    if ((fds[1].revents & POLLIN) != 0) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::lock_guard lock(clients_mu_);
    for (auto it = clients_.begin(); it != clients_.end();) {  // reap the finished
      if (it->done.load(std::memory_order_acquire)) {
        it->thread.join();
        it = clients_.erase(it);
      } else {
        ++it;
      }
    }
    if (clients_.size() >= kMaxClients) {
      SendAll(fd, absl::StrCat("error: too many console clients (", kMaxClients, "); try again later\n",
                               std::string(1, '\0'), kUsage, "\n"));
      ::close(fd);
      continue;
    }
    if (logger_ != nullptr && logger_->Enabled(Subsystem::kConsole, LogLevel::kDebug)) {
      logger_->Log(Subsystem::kConsole, LogLevel::kDebug,
                   absl::StrCat("console: client connected (", clients_.size() + 1, " now)"));
    }
    Client& c = clients_.emplace_back();
    c.thread = std::thread([this, fd, &c] { Serve(fd, &c); });
  }
}

void Console::Serve(int fd, Client* self) {
  SocketOutput out(fd, stopping_);
  std::string buffer;
  bool skipping = false;  // inside a line that was too long
  char chunk[1024];
  while (!stopping_.load(std::memory_order_relaxed)) {
    pollfd fds[2] = {{fd, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) break;
    if ((fds[1].revents & POLLIN) != 0) break;
    if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
    const ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
    if (n <= 0) break;
    buffer.append(chunk, static_cast<std::size_t>(n));
    std::size_t nl;
    while ((nl = buffer.find('\n')) != std::string::npos) {
      const std::string line = buffer.substr(0, nl);
      buffer.erase(0, nl + 1);
      if (skipping) {
        skipping = false;
        continue;
      }
      if (line.size() > kMaxLine) {
        out.Write(absl::StrCat("error: line longer than ", kMaxLine, " bytes; ignored\n"));
        out.End(kUsage);
        continue;
      }
      if (logger_ != nullptr && logger_->Enabled(Subsystem::kConsole, LogLevel::kDebug)) {
        logger_->Log(Subsystem::kConsole, LogLevel::kDebug, absl::StrCat("console: ", Quote(line)));
      }
      out.End(Execute(line, out));
    }
    if (buffer.size() > kMaxLine) {
      out.Write(absl::StrCat("error: line longer than ", kMaxLine, " bytes; ignored\n"));
      out.End(kUsage);
      buffer.clear();
      skipping = true;
    }
  }
  ::close(fd);
  self->done.store(true, std::memory_order_release);
}

}  // namespace ringstack::engine
