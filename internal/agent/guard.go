package agent

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
)

// listener names which protocol a handler serves, for the names its
// requests may give in Host.
type listener int

const (
	listenIMDS listener = iota
	listenArc
	listenAppService
	listenProbe // /healthz and /readyz
)

// guard runs before every route of every listener (IMDS, Azure Arc, App
// Service and the probes): a new listener's handler is wrapped here too.
// It refuses:
//
//   - a Host other than the listener's own address. A web page whose name
//     its attacker re-binds in DNS to 169.254.169.254 (or 127.0.0.1) is
//     same-origin with the agent in the browser, may send Metadata: true
//     and read the answer; its requests still say the page's name in Host,
//     which no real client of the agent sends.
//   - a request that names a proxy hop (Forwarded, X-Forwarded-*): the
//     managed identity endpoints answer programs on this machine, never a
//     request relayed by a proxy (a server-side request forgery), as
//     IMDS refuses X-Forwarded-For.
func guard(l listener, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, name := range forwardingHeaders {
			if _, ok := r.Header[name]; ok {
				fail(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf(descForwarded, name))
				return
			}
		}
		local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
		if !ownHost(l, r.Host, local) {
			fail(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf(descForeignHost, clip(r.Host), ownHostsText(l, local)))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// forwardingHeaders are the request headers a proxy adds (canonical form,
// as net/http keys r.Header). No Azure SDK sends one to a managed identity
// endpoint.
var forwardingHeaders = [...]string{HeaderForwarded, HeaderForwardedRFC, HeaderForwardedHost}

// ownHost answers whether host (the request's Host) names the listener
// itself: the address the connection arrived at (IP and port; the port may
// be left out when it is 80), localhost with that port when that address
// is a loopback one, and for IMDS its well-known address, at which clients
// reach it also when a node forwards 169.254.169.254:80 to another port.
func ownHost(l listener, host string, local net.Addr) bool {
	name, port := splitHost(host)
	if name == "" {
		return false
	}
	if l == listenIMDS && name == IMDSAddress && port == 80 {
		return true
	}
	tcp, ok := local.(*net.TCPAddr)
	if !ok || port != tcp.Port {
		return false
	}
	if strings.EqualFold(name, "localhost") {
		return tcp.IP.IsLoopback()
	}
	ip := net.ParseIP(name)
	return ip != nil && ip.Equal(tcp.IP)
}

// splitHost splits a Host value into its name (IPv6 without brackets) and
// port (80 when absent: the agent speaks plain HTTP); name "" when the
// value is malformed.
func splitHost(host string) (string, int) {
	if host == "" {
		return "", 0
	}
	name, p, err := net.SplitHostPort(host)
	if err != nil {
		if strings.ContainsAny(host, "[]:") {
			return "", 0
		}
		return host, 80
	}
	port, err := strconv.Atoi(p)
	if err != nil || port <= 0 || port > 65535 || name == "" {
		return "", 0
	}
	return name, port
}

// ownHostsText names the accepted Host values for the refusal's message.
func ownHostsText(l listener, local net.Addr) string {
	var names []string
	if l == listenIMDS {
		names = append(names, IMDSAddress)
	}
	if tcp, ok := local.(*net.TCPAddr); ok {
		names = append(names, tcp.String())
		if tcp.IP.IsLoopback() {
			names = append(names, net.JoinHostPort("localhost", strconv.Itoa(tcp.Port)))
		}
	}
	return strings.Join(names, ", ")
}

// clip bounds a client's value quoted back in an error.
func clip(s string) string {
	const max = 100
	if len(s) > max {
		s = s[:max] + "…"
	}
	return strconv.Quote(s)
}
