package registry

import (
	"fmt"
	"strconv"
)

// ConfigOptions are what a CNCF distribution registry needs to trust
// Ward's registry tokens.
type ConfigOptions struct {
	// LoginServer is the registry's host[:port]: the token's audience
	// (service) and the realm's host.
	LoginServer string
	// Issuer is the tokens' iss (Issuer(publicURL)).
	Issuer string
	// RootCertBundle is the path of the file holding Tokens.RootPEM.
	RootCertBundle string
	// RootDirectory is the filesystem storage's root.
	RootDirectory string
	// Addr is where a standalone registry listens ("" in-process).
	Addr string
	// Secret signs the registry's upload state; every instance of one
	// registry shares it.
	Secret string
}

// Config renders a distribution configuration (YAML) that trusts Ward: token
// auth with Ward's realm, service and issuer, tokens verified by their x5c
// chain to the root bundle; filesystem storage, deletes enabled (AcrDelete
// means something). `ward acr show-config` prints it; `ward serve` parses
// the same text for its in-process registries, so the printed file is the
// one Ward's tests start.
func Config(o ConfigOptions) string {
	q := strconv.Quote
	addr := o.Addr
	if addr == "" {
		addr = ":5000"
	}
	return fmt.Sprintf(`version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
  secret: %s
auth:
  token:
    realm: %s
    service: %s
    issuer: %s
    rootcertbundle: %s
    signingalgorithms:
      - EdDSA
`, q(o.RootDirectory), q(addr), q(o.Secret), q("https://"+o.LoginServer+PathToken), q(o.LoginServer), q(o.Issuer), q(o.RootCertBundle))
}
