/* The C-callable face of sockets/api.h, for C programs and a
 * later LD_PRELOAD shim: the same calls with an rs_ prefix, POSIX results
 * (-1 and errno), addresses as struct sockaddr_in / sockaddr_in6.
 * rs_attach() names the Stack the calls go to (one per process). */
#ifndef RINGSTACK_SOCKETS_C_API_H_
#define RINGSTACK_SOCKETS_C_API_H_

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/types.h>

#ifdef __cplusplus
namespace ringstack::sockets {
class Stack;
}
// Sets the stack rs_* calls use (null detaches).
void rs_attach(ringstack::sockets::Stack* stack);
extern "C" {
#endif

/* IPPROTO_TCP option: this connection's ECN in Linux's net.ipv4.tcp_ecn
 * numbers, 0 off, 1 on, 2 passive (RFC 3168), 3 Accurate ECN (RFC 9768);
 * sockets/api.h kTcpEcn. */
#define RS_TCP_ECN 0x5201

int rs_socket(int domain, int type, int protocol);
int rs_setsockopt(int fd, int level, int name, const void* value, socklen_t len);
int rs_getsockopt(int fd, int level, int name, void* value, socklen_t* len);
/* F_GETFL / F_SETFL with O_NONBLOCK. */
int rs_fcntl(int fd, int cmd, int arg);
int rs_bind(int fd, const struct sockaddr* addr, socklen_t len);
int rs_connect(int fd, const struct sockaddr* addr, socklen_t len);
/* flags: MSG_NOSIGNAL; MSG_FASTOPEN on an unconnected TCP socket connects
 * with the data in the SYN (TCP Fast Open, RFC 7413). */
ssize_t rs_sendto(int fd, const void* buf, size_t len, int flags, const struct sockaddr* to, socklen_t tolen);
ssize_t rs_send(int fd, const void* buf, size_t len, int flags);
ssize_t rs_recvfrom(int fd, void* buf, size_t len, int flags, struct sockaddr* from, socklen_t* fromlen);
ssize_t rs_recv(int fd, void* buf, size_t len, int flags);
int rs_shutdown(int fd, int how);
int rs_poll(struct pollfd* fds, nfds_t n, int timeout_ms);
int rs_getsockname(int fd, struct sockaddr* addr, socklen_t* len);
int rs_getpeername(int fd, struct sockaddr* addr, socklen_t* len);
int rs_close(int fd);

#ifdef __cplusplus
}
#endif

#endif /* RINGSTACK_SOCKETS_C_API_H_ */
