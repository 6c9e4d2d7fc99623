#include "engine/link/tap.h"

#include <fcntl.h>
#include <net/if.h>
// After net/if.h, which defines the IFF_ flags linux/if.h would redefine.
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/link/vnet_hdr.h"

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

// /dev/net/tun, non-blocking.
absl::StatusOr<int> OpenTun() {
  const int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd >= 0) return fd;
  const int err = errno;
  if (err == ENOENT || err == ENODEV || err == ENXIO) {
    return absl::NotFoundError("cannot open /dev/net/tun: no TUN/TAP support; load it with 'modprobe tun'");
  }
  if (err == EACCES || err == EPERM) {
    return absl::PermissionDeniedError("cannot open /dev/net/tun: run as root or grant CAP_NET_ADMIN");
  }
  return absl::InternalError(absl::StrCat("cannot open /dev/net/tun: ", std::strerror(err)));
}

// Why TUNSETIFF on `name` failed with `err`, in words a person can act on.
absl::Status AttachError(int err, const std::string& name, bool existed) {
  if (err == EBUSY) {
    return absl::FailedPreconditionError(absl::StrCat(
        "TAP ", name, " is busy: another process is attached to it (stop it, or use a multi-queue TAP)"));
  }
  if (err == EPERM || err == EACCES) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot attach to TAP ", name, ": run as root or grant CAP_NET_ADMIN"));
  }
  if (err == EINVAL && existed) {
    return absl::FailedPreconditionError(absl::StrCat(
        name, " exists but is not a TAP device (make one with 'ip tuntap add dev ", name, " mode tap')"));
  }
  return absl::InternalError(absl::StrCat("TUNSETIFF ", name, ": ", std::strerror(err)));
}

// The TAP's offloads: off without a virtio-net header (a TAP keeps the
// offloads its last user set: its kernel would hand us partial checksums
// and 64 KiB frames); with one, the header as virtio 1.0 has it without
// mergeable buffers (10 bytes) and what we can take: partial checksums and
// TCP super-frames both ways (no ECN-marked GSO, no UDP fragmentation or
// segmentation).
absl::Status SetOffloads(int fd, bool offload, const std::string& name) {
  if (!offload) {
    if (ioctl(fd, TUNSETOFFLOAD, 0u) == 0) return absl::OkStatus();
    return absl::FailedPreconditionError(
        absl::StrCat("TAP ", name, ": cannot turn its offloads off (", std::strerror(errno), ")"));
  }
  int hdr_len = static_cast<int>(vnet::kHeaderLen);
  const unsigned features = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
  if (ioctl(fd, TUNSETVNETHDRSZ, &hdr_len) == 0 && ioctl(fd, TUNSETOFFLOAD, features) == 0) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat("--tap-offload: TAP ", name, " refused checksum/TSO offload (",
                                                    std::strerror(errno), "); use --tap-offload off"));
}

}  // namespace

absl::StatusOr<std::unique_ptr<TapLink>> TapLink::Open(const std::string& name, bool offload,
                                                      CounterSet* counters, bool want_multi_queue) {
  if (name.empty() || name.size() >= IFNAMSIZ) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tap: interface name must be 1 to ", IFNAMSIZ - 1, " characters"));
  }
  const absl::StatusOr<int> tun = OpenTun();
  if (!tun.ok()) return tun.status();
  const int fd = *tun;
  const bool existed = InterfaceExists(name);
  // Try single-queue first; an existing multi-queue TAP answers EINVAL, and
  // then we attach as one of its queues.
  bool multi_queue = want_multi_queue;
  const short vnet = offload ? IFF_VNET_HDR : 0;
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  ifr.ifr_flags = static_cast<short>(IFF_TAP | IFF_NO_PI | vnet | (want_multi_queue ? IFF_MULTI_QUEUE : 0));
  int rc = ioctl(fd, TUNSETIFF, &ifr);
  if (rc != 0 && errno == EINVAL && existed && want_multi_queue) {
    close(fd);
    return absl::FailedPreconditionError(absl::StrCat(
        "--tap-queues: ", name, " is a single-queue TAP (make it with 'ip tuntap add dev ", name,
        " mode tap multi_queue', or use --tap-queues 1)"));
  }
  if (rc != 0 && errno == EINVAL && existed) {
    ifr = ifreq{};
    std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
    ifr.ifr_flags = static_cast<short>(IFF_TAP | IFF_NO_PI | IFF_MULTI_QUEUE | vnet);
    rc = ioctl(fd, TUNSETIFF, &ifr);
    multi_queue = rc == 0;
  }
  if (rc != 0) {
    const int err = errno;
    close(fd);
    return AttachError(err, name, existed);
  }
  if (absl::Status st = SetOffloads(fd, offload, name); !st.ok()) {
    close(fd);
    return st;
  }
  int mtu = 1500;
  if (absl::Status s = SetUp(name, mtu); !s.ok()) {
    close(fd);
    return s;
  }
  std::unique_ptr<TapLink> link(new TapLink(fd, name, multi_queue, !existed, mtu, offload));
  if (offload && counters != nullptr) {
    OffloadCounters& c = link->counters_;
    c.rx_gso_frames = &counters->Add("rx_gso_frames");
    c.rx_csum_trusted = &counters->Add("rx_csum_trusted");
    for (const vnet::RxVerdict v : {vnet::RxVerdict::kBadChecksumOffsets, vnet::RxVerdict::kUnsupportedGso,
                                    vnet::RxVerdict::kBadGso}) {
      c.rx_vnet_drop[static_cast<int>(v)] = &counters->Add(absl::StrCat("rx_vnet_drop_", vnet::RxVerdictName(v)));
    }
    c.tx_gso_frames = &counters->Add("tx_gso_frames");
    c.tx_csum_partial = &counters->Add("tx_csum_partial");
  }
  return link;
}

TapLink::~TapLink() {
  if (fd_ >= 0) close(fd_);
}

bool TapLink::Receive(rings::Packet& into, bool& oversize) {
  return offload_ ? ReceiveVnet(into, oversize) : ReadFrame(into, oversize);
}

bool TapLink::ReadFrame(rings::Packet& into, bool& oversize) {
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

// A frame behind its virtio-net header; one that is malformed is counted and
// the next read, so a caller sees only frames it can take.
bool TapLink::ReceiveVnet(rings::Packet& into, bool& oversize) {
  for (;;) {
    if (!ReadFrame(into, oversize)) return false;
    const std::size_t n = into.size();
    if (n < vnet::kHeaderLen) {
      oversize = false;
      into.SetSize(0);  // a runt the Ethernet parser drops and counts
      return true;
    }
    const vnet::Header h = vnet::Header::Parse(into.data().first<vnet::kHeaderLen>());
    into.TrimFront(vnet::kHeaderLen);
    const vnet::RxVerdict v = vnet::ToOffload(h, into.data(), into.offload());
    if (v != vnet::RxVerdict::kOk) {
      if (Counter* c = counters_.rx_vnet_drop[static_cast<int>(v)]) c->Inc();
      continue;
    }
    if (counters_.rx_gso_frames != nullptr) {
      if (into.offload().gso_size != 0) counters_.rx_gso_frames->Inc();
      if (into.offload().csum_trusted) counters_.rx_csum_trusted->Inc();
    }
    return true;
  }
}

SendResult TapLink::Send(const rings::Packet& frame) {
  const auto bytes = frame.data();
  ssize_t n;
  std::size_t want = bytes.size();
  if (offload_) {
    std::byte header[vnet::kHeaderLen];
    const vnet::Header h = vnet::FromOffload(bytes, frame.offload());
    h.Emit(header);
    const iovec iov[2] = {{header, sizeof header}, {const_cast<std::byte*>(bytes.data()), bytes.size()}};
    want += sizeof header;
    n = writev(fd_, iov, 2);
    if (n == static_cast<ssize_t>(want) && counters_.tx_gso_frames != nullptr) {
      if (h.gso_type != vnet::kGsoNone) counters_.tx_gso_frames->IncShared();
      if (h.flags & vnet::kFlagNeedsCsum) counters_.tx_csum_partial->IncShared();
    }
  } else {
    n = write(fd_, bytes.data(), bytes.size());
  }
  if (n == static_cast<ssize_t>(want)) return SendResult::kSent;
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return SendResult::kBusy;
  return SendResult::kError;  // EIO (interface down), EINVAL (bad frame)
}

std::string TapLink::Describe() const {
  return absl::StrCat("tap ", name_, multi_queue_ ? " (multi-queue)" : "", created_ ? " (created)" : "",
                      offload_ ? " (offload: csum, tso4, tso6)" : "", " mtu ", mtu_);
}

}  // namespace ringstack::engine
