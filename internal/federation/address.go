package federation

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
)

// AddressError means an issuer's host is, or resolves to, an address Ward
// does not fetch keys from: link-local (169.254.0.0/16, fe80::/10, where
// cloud metadata services live), unspecified, multicast, and loopback
// unless the server allows it.
type AddressError struct {
	// Kind is "link-local", "unspecified", "multicast" or "loopback".
	Kind string
	// Resolved is true when the check was made on a dialled address rather
	// than on the URL's literal host.
	Resolved bool
}

func (e *AddressError) Error() string {
	how := "its host is"
	if e.Resolved {
		how = "its host resolves to"
	}
	s := fmt.Sprintf("%s a %s address, which Ward does not fetch keys from", how, e.Kind)
	if e.Kind == "loopback" {
		s += " unless the server is started with --allow-loopback-issuers"
	}
	return s
}

// addressPolicy decides which addresses issuer fetches may reach. Private
// ranges (10/8, 172.16/12, 192.168/16, fc00::/7) stay allowed: on-premises
// issuers live there.
type addressPolicy struct{ allowLoopback bool }

func (p addressPolicy) checkIP(ip netip.Addr, resolved bool) error {
	ip = ip.Unmap()
	kind := ""
	switch {
	case ip.IsUnspecified():
		kind = "unspecified"
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		kind = "link-local"
	case ip.IsMulticast():
		kind = "multicast"
	case ip.IsLoopback() && !p.allowLoopback:
		kind = "loopback"
	}
	if kind == "" {
		return nil
	}
	return &AddressError{Kind: kind, Resolved: resolved}
}

// checkHost checks a URL's host (without port) before any connection:
// literal addresses and the localhost names. Names are checked again, as
// addresses, when dialled.
func (p addressPolicy) checkHost(host string) error {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		if p.allowLoopback {
			return nil
		}
		return &AddressError{Kind: "loopback"}
	}
	if ip, err := netip.ParseAddr(h); err == nil {
		return p.checkIP(ip, false)
	}
	return nil
}

// control is a net.Dialer Control function: it runs after name resolution
// and before connecting, so a name that resolves (or rebinds) to a refused
// address is refused too.
func (p addressPolicy) control(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("dial address %q: %w", address, err)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("dial address %q is not an IP address", address)
	}
	return p.checkIP(ip, true)
}
