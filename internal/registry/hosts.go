package registry

import (
	"strings"

	"github.com/ward-id/ward/internal/datahost"
)

// Hosts derives login server host names from Ward's public URL, as the
// vault hosts are: <name>.azurecr.localhost for loopback deployments,
// <name>.azurecr.<host> otherwise, with the port kept.
type Hosts struct {
	Suffix string // e.g. azurecr.localhost:8443
}

// NewHosts builds Hosts for a public URL.
func NewHosts(publicURL string) Hosts {
	return Hosts{Suffix: datahost.Suffix(publicURL, HostLabel)}
}

// DNSSuffix is the cloud metadata's acrLoginServer suffix: with its
// leading dot, as Azure publishes ".azurecr.io" (az appends it to a name).
func (h Hosts) DNSSuffix() string { return "." + h.Suffix }

// LoginServer is a registry's loginServer.
func (h Hosts) LoginServer(name string) string { return strings.ToLower(name) + "." + h.Suffix }

// RegistryFromHost returns the registry name a request host addresses.
func (h Hosts) RegistryFromHost(host string) (string, bool) {
	return datahost.Name(host, h.Suffix)
}
