// Package datahost names the hosts of Ward's data planes (Key Vault,
// container registries, Blob accounts): https://<name>.<label>.<host>[:port],
// derived from Ward's public URL, and reads the name back from a request's
// Host. One derivation for every plane, so that what the cloud metadata
// publishes, what the certificate covers and what the router serves agree.
package datahost

import (
	"net"
	"net/url"
	"strings"
)

// Suffix is a data plane's host suffix for publicURL: <label>.localhost when
// Ward is addressed by an IP address or localhost (an IP has no subdomains,
// and *.localhost resolves to loopback), <label>.<host> otherwise; the port
// is kept. An empty label gives the host (with its port) alone.
func Suffix(publicURL, label string) string {
	host, port := "localhost", ""
	if u, err := url.Parse(publicURL); err == nil {
		if h := u.Hostname(); h != "" && net.ParseIP(h) == nil && h != "localhost" {
			host = h
		}
		port = u.Port()
	}
	if label != "" {
		host = label + "." + host
	}
	if port != "" {
		host += ":" + port
	}
	return host
}

// Name returns the single-label name a request's Host addresses under
// suffix, matching case-insensitively; a Host without suffix's port (a
// client that omits the default port) matches too.
func Name(host, suffix string) (string, bool) {
	host = strings.ToLower(host)
	suffix = "." + strings.ToLower(suffix)
	if !strings.HasSuffix(host, suffix) {
		bare, _, _ := strings.Cut(suffix, ":")
		if !strings.HasSuffix(host, bare) || strings.Contains(host, ":") {
			return "", false
		}
		suffix = bare
	}
	name := strings.TrimSuffix(host, suffix)
	return name, name != "" && !strings.Contains(name, ".")
}
