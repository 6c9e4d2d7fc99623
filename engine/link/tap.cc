#include "engine/link/tap.h"

#include <fcntl.h>
#include <net/if.h>
// After net/if.h, which defines the IFF_ flags linux/if.h would redefine.
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace ringstack::engine {
namespace {

bool InterfaceExists(const std::string& name) { return if_nametoindex(name.c_str()) != 0; }

// Brings the interface up (needed only when we created it).
absl::Status SetUp(const std::string& name, int& mtu) {
  const int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  absl::Status status;
  if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
    if ((ifr.ifr_flags & IFF_UP) == 0) {
      ifr.ifr_flags |= IFF_UP;
      if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0) {
        status = absl::PermissionDeniedError(
            absl::StrCat("cannot bring ", name, " up: ", std::strerror(errno)));
      }
    }
  }
  ifr = ifreq{};
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  mtu = ioctl(s, SIOCGIFMTU, &ifr) == 0 ? ifr.ifr_mtu : 1500;
  close(s);
  return status;
}

}  // namespace

absl::StatusOr<std::unique_ptr<TapLink>> TapLink::Open(const std::string& name) {
  if (name.empty() || name.size() >= IFNAMSIZ) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tap: interface name must be 1 to ", IFNAMSIZ - 1, " characters"));
  }
  const int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT || err == ENODEV || err == ENXIO) {
      return absl::NotFoundError("cannot open /dev/net/tun: no TUN/TAP support; load it with 'modprobe tun'");
    }
    if (err == EACCES || err == EPERM) {
      return absl::PermissionDeniedError(
          "cannot open /dev/net/tun: run as root or grant CAP_NET_ADMIN");
    }
    return absl::InternalError(absl::StrCat("cannot open /dev/net/tun: ", std::strerror(err)));
  }
  const bool existed = InterfaceExists(name);
  // Try single-queue first; an existing multi-queue TAP answers EINVAL, and
  // then we attach as one of its queues.
  bool multi_queue = false;
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  int rc = ioctl(fd, TUNSETIFF, &ifr);
  if (rc != 0 && errno == EINVAL && existed) {
    ifr = ifreq{};
    std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_MULTI_QUEUE;
    rc = ioctl(fd, TUNSETIFF, &ifr);
    multi_queue = rc == 0;
  }
  if (rc != 0) {
    const int err = errno;
    close(fd);
    if (err == EBUSY) {
      return absl::FailedPreconditionError(absl::StrCat(
          "TAP ", name, " is busy: another process is attached to it (stop it, or use a multi-queue TAP)"));
    }
    if (err == EPERM || err == EACCES) {
      return absl::PermissionDeniedError(absl::StrCat(
          "cannot attach to TAP ", name, ": run as root or grant CAP_NET_ADMIN"));
    }
    if (err == EINVAL && existed) {
      return absl::FailedPreconditionError(
          absl::StrCat(name, " exists but is not a TAP device (make one with 'ip tuntap add dev ",
                       name, " mode tap')"));
    }
    return absl::InternalError(absl::StrCat("TUNSETIFF ", name, ": ", std::strerror(err)));
  }
  int mtu = 1500;
  if (absl::Status s = SetUp(name, mtu); !s.ok()) {
    close(fd);
    return s;
  }
  return std::unique_ptr<TapLink>(new TapLink(fd, name, multi_queue, !existed, mtu));
}

TapLink::~TapLink() {
  if (fd_ >= 0) close(fd_);
}

bool TapLink::Receive(rings::Packet& into, bool& oversize) {
  auto room = into.ResetForReceive();
  const ssize_t n = read(fd_, room.data(), room.size());
  if (n < 0 && errno != EAGAIN && errno != EINTR) {
    // EBADFD/EIO: the TAP was deleted or its queue detached; it will not
    // come back on this fd.
    SetFailure(absl::StrCat("TAP ", name_, " failed: read: ", std::strerror(errno)));
  }
  if (n <= 0) return false;
  oversize = static_cast<std::size_t>(n) >= room.size();
  into.SetSize(static_cast<std::size_t>(n));
  return true;
}

SendResult TapLink::Send(const rings::Packet& frame) {
  const auto bytes = frame.data();
  const ssize_t n = write(fd_, bytes.data(), bytes.size());
  if (n == static_cast<ssize_t>(bytes.size())) return SendResult::kSent;
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return SendResult::kBusy;
  return SendResult::kError;  // EIO (interface down), EINVAL (bad frame)
}

std::string TapLink::Describe() const {
  return absl::StrCat("tap ", name_, multi_queue_ ? " (multi-queue)" : "", created_ ? " (created)" : "",
                      " mtu ", mtu_);
}

}  // namespace ringstack::engine
