package agent

import (
	"encoding/binary"
	"fmt"
	"net"
	"syscall"
	"unsafe"
)

// AddLoopbackAddress puts ip/32 on the loopback interface (as `ip addr add
// 169.254.169.254/32 dev lo` does), so that the agent can listen on the
// metadata address; an address already there is fine. It needs
// CAP_NET_ADMIN.
func AddLoopbackAddress(ip net.IP) error {
	v4 := ip.To4()
	if v4 == nil {
		return fmt.Errorf("%s is not an IPv4 address", ip)
	}
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		return err
	}
	fd, err := syscall.Socket(syscall.AF_NETLINK, syscall.SOCK_RAW|syscall.SOCK_CLOEXEC, syscall.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("netlink socket: %w", err)
	}
	defer syscall.Close(fd)
	if err := syscall.Bind(fd, &syscall.SockaddrNetlink{Family: syscall.AF_NETLINK}); err != nil {
		return fmt.Errorf("netlink bind: %w", err)
	}
	// nlmsghdr | ifaddrmsg | rtattr IFA_LOCAL | rtattr IFA_ADDRESS
	attr := func(typ uint16, data []byte) []byte {
		b := make([]byte, syscall.SizeofRtAttr+len(data))
		binary.NativeEndian.PutUint16(b[0:2], uint16(len(b)))
		binary.NativeEndian.PutUint16(b[2:4], typ)
		copy(b[syscall.SizeofRtAttr:], data)
		return b
	}
	ifa := syscall.IfAddrmsg{Family: syscall.AF_INET, Prefixlen: 32, Scope: syscall.RT_SCOPE_UNIVERSE, Index: uint32(lo.Index)}
	body := (*[syscall.SizeofIfAddrmsg]byte)(unsafe.Pointer(&ifa))[:]
	payload := append(append(append([]byte{}, body...), attr(syscall.IFA_LOCAL, v4)...), attr(syscall.IFA_ADDRESS, v4)...)
	msg := make([]byte, syscall.NLMSG_HDRLEN+len(payload))
	binary.NativeEndian.PutUint32(msg[0:4], uint32(len(msg)))
	binary.NativeEndian.PutUint16(msg[4:6], syscall.RTM_NEWADDR)
	binary.NativeEndian.PutUint16(msg[6:8], syscall.NLM_F_REQUEST|syscall.NLM_F_ACK|syscall.NLM_F_CREATE|syscall.NLM_F_EXCL)
	binary.NativeEndian.PutUint32(msg[8:12], 1)
	copy(msg[syscall.NLMSG_HDRLEN:], payload)
	if err := syscall.Sendto(fd, msg, 0, &syscall.SockaddrNetlink{Family: syscall.AF_NETLINK}); err != nil {
		return fmt.Errorf("netlink send: %w", err)
	}
	buf := make([]byte, 4096)
	n, _, err := syscall.Recvfrom(fd, buf, 0)
	if err != nil {
		return fmt.Errorf("netlink receive: %w", err)
	}
	msgs, err := syscall.ParseNetlinkMessage(buf[:n])
	if err != nil {
		return err
	}
	for _, m := range msgs {
		if m.Header.Type != syscall.NLMSG_ERROR || len(m.Data) < 4 {
			continue
		}
		switch errno := -int32(binary.NativeEndian.Uint32(m.Data[0:4])); syscall.Errno(errno) {
		case 0, syscall.EEXIST:
			return nil
		default:
			return fmt.Errorf("add %s/32 to lo: %w", ip, syscall.Errno(errno))
		}
	}
	return nil
}
