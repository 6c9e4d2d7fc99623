// ringstack-ctl: the console client. Sends one command (from its arguments)
// or, with none, every line of its input (an interactive prompt on a
// terminal) to a running engine's console socket and prints the answers.
//
//   ringstack-ctl [-s SOCKET | -t TAP] COMMAND [ARGS...]
//   ringstack-ctl [-s SOCKET | -t TAP]            (reads commands)
//
// Without -s/-t it uses $RINGSTACK_CONSOLE, else the one socket under
// /run/ringstack/. Exit status: the last command's (0 done, 1 failed, 2 bad
// command), 3 when no engine could be reached.
#include <dirent.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

namespace {

constexpr int kNoEngine = 3;
constexpr const char* kDir = "/run/ringstack";

void Usage(std::FILE* out) {
  std::fprintf(out,
               "usage: ringstack-ctl [-s SOCKET | -t TAP] [COMMAND [ARGS...]]\n"
               "  talks to a running ringstack's console; without a COMMAND reads commands from stdin.\n"
               "  -s SOCKET  the console socket (ringstack --console PATH)\n"
               "  -t TAP     the engine on TAP (/run/ringstack/TAP.sock)\n"
               "  default: $RINGSTACK_CONSOLE, else the only socket in /run/ringstack/\n"
               "  'ringstack-ctl help' lists the commands; every show takes --json.\n");
}

// The socket to use, or "" with `error` set.
std::string FindSocket(std::string& error) {
  if (const char* env = std::getenv("RINGSTACK_CONSOLE"); env != nullptr && *env != '\0') return env;
  std::vector<std::string> found;
  if (DIR* d = opendir(kDir)) {
    while (dirent* e = readdir(d)) {
      const std::string name = e->d_name;
      if (name.size() > 5 && name.compare(name.size() - 5, 5, ".sock") == 0) found.push_back(std::string(kDir) + "/" + name);
    }
    closedir(d);
  }
  if (found.size() == 1) return found[0];
  if (found.empty()) {
    error = "no console socket in /run/ringstack (is ringstack running? give -s SOCKET if it uses --console PATH)";
  } else {
    error = "several engines run; choose one with -t TAP or -s SOCKET:";
    for (const auto& f : found) error += "\n  " + f;
  }
  return "";
}

bool SendAll(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::send(fd, text.data() + done, text.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// Prints the answer to one command as it arrives; its status, or -1 when
// the engine went away.
int ReadAnswer(int fd) {
  char buf[4096];
  bool after_nul = false;
  std::string status;
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    for (ssize_t i = 0; i < n; ++i) {
      if (after_nul) {
        if (buf[i] == '\n') return status.empty() ? 1 : std::atoi(status.c_str());
        status += buf[i];
      } else if (buf[i] == '\0') {
        std::fflush(stdout);
        after_nul = true;
      } else {
        std::fputc(buf[i], stdout);
      }
    }
    if (!after_nul) std::fflush(stdout);
  }
}

// Words back into one line, quoting those with blanks or quotes.
std::string JoinArgs(int argc, char** argv, int from) {
  std::string line;
  for (int i = from; i < argc; ++i) {
    std::string w = argv[i];
    if (!line.empty()) line += ' ';
    if (w.empty() || w.find_first_of(" \t\"\\") != std::string::npos) {
      line += '"';
      for (char c : w) {
        if (c == '"' || c == '\\') line += '\\';
        line += c;
      }
      line += '"';
    } else {
      line += w;
    }
  }
  return line;
}

}  // namespace

int main(int argc, char** argv) {
  std::string path;
  int i = 1;
  for (; i < argc; ++i) {
    const std::string a = argv[i];
    if ((a == "-s" || a == "--socket") && i + 1 < argc) {
      path = argv[++i];
    } else if ((a == "-t" || a == "--tap") && i + 1 < argc) {
      path = std::string(kDir) + "/" + argv[++i] + ".sock";
    } else if (a == "-h" || a == "--help") {
      Usage(stdout);
      return 0;
    } else if (a == "-s" || a == "--socket" || a == "-t" || a == "--tap") {
      std::fprintf(stderr, "ringstack-ctl: %s needs a value\n", a.c_str());
      Usage(stderr);
      return 2;
    } else {
      break;
    }
  }
  if (path.empty()) {
    std::string error;
    path = FindSocket(error);
    if (path.empty()) {
      std::fprintf(stderr, "ringstack-ctl: %s\n", error.c_str());
      return kNoEngine;
    }
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    std::fprintf(stderr, "ringstack-ctl: socket path too long: %s\n", path.c_str());
    return 2;
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    std::fprintf(stderr, "ringstack-ctl: cannot reach the console at %s: %s (is ringstack running?)\n", path.c_str(),
                 std::strerror(errno));
    return kNoEngine;
  }
  if (i < argc) {  // one command from the arguments
    if (!SendAll(fd, JoinArgs(argc, argv, i) + "\n")) return kNoEngine;
    const int rc = ReadAnswer(fd);
    ::close(fd);
    if (rc < 0) {
      std::fprintf(stderr, "ringstack-ctl: the engine closed the console\n");
      return kNoEngine;
    }
    return rc;
  }
  const bool tty = isatty(STDIN_FILENO) != 0;
  int rc = 0;
  std::string line;
  for (;;) {
    if (tty) {
      std::fputs("ringstack> ", stdout);
      std::fflush(stdout);
    }
    if (!std::getline(std::cin, line)) break;
    if (line == "quit" || line == "exit") break;
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    if (!SendAll(fd, line + "\n") || (rc = ReadAnswer(fd)) < 0) {
      std::fprintf(stderr, "ringstack-ctl: the engine closed the console\n");
      ::close(fd);
      return kNoEngine;
    }
  }
  ::close(fd);
  return rc;
}
