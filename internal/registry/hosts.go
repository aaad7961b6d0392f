package registry

import (
	"net"
	"net/url"
	"strings"
)

// Hosts derives login server host names from Ward's public URL, as the
// vault hosts are: <name>.azurecr.localhost for loopback deployments,
// <name>.azurecr.<host> otherwise, with the port kept.
type Hosts struct {
	Suffix string // e.g. azurecr.localhost:8443
}

// NewHosts builds Hosts for a public URL.
func NewHosts(publicURL string) Hosts {
	u, err := url.Parse(publicURL)
	if err != nil {
		return Hosts{Suffix: HostLabel + ".localhost"}
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); ip != nil || host == "localhost" {
		host = "localhost"
	}
	suffix := HostLabel + "." + host
	if p := u.Port(); p != "" {
		suffix += ":" + p
	}
	return Hosts{Suffix: suffix}
}

// DNSSuffix is the cloud metadata's acrLoginServer suffix: with its
// leading dot, as Azure publishes ".azurecr.io" (az appends it to a name).
func (h Hosts) DNSSuffix() string { return "." + h.Suffix }

// LoginServer is a registry's loginServer.
func (h Hosts) LoginServer(name string) string { return strings.ToLower(name) + "." + h.Suffix }

// RegistryFromHost returns the registry name a request host addresses.
func (h Hosts) RegistryFromHost(host string) (string, bool) {
	host = strings.ToLower(host)
	suffix := "." + strings.ToLower(h.Suffix)
	if !strings.HasSuffix(host, suffix) {
		// Clients may omit the default port.
		bare, _, _ := strings.Cut(suffix, ":")
		if !strings.HasSuffix(host, bare) || strings.Contains(host, ":") {
			return "", false
		}
		suffix = bare
	}
	name := strings.TrimSuffix(host, suffix)
	return name, name != "" && !strings.Contains(name, ".")
}
