package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/ward-id/ward/client"
	"github.com/ward-id/ward/internal/shellquote"
)

// ficOf is a federated credential with the identity that holds it.
type ficOf struct {
	identity client.Identity
	fic      client.FederatedCredential
}

// allFederatedCredentials lists every federated credential in the
// subscription.
func allFederatedCredentials(ctx context.Context, c *conn, sub string) ([]ficOf, error) {
	ids, err := c.client.ListIdentities(ctx, sub, "")
	if err != nil {
		return nil, err
	}
	var out []ficOf
	for _, id := range ids {
		fics, err := c.client.ListFederatedCredentials(ctx, sub, groupOf(id.ID), id.Name)
		if err != nil {
			return nil, err
		}
		for _, f := range fics {
			out = append(out, ficOf{identity: id, fic: f})
		}
	}
	return out, nil
}

// movedHost reports whether two issuer URLs are the same hosted issuer
// served at different hosts or ports: the same path (trailing slash aside),
// a different host:port. That is what a restart on another --addr without
// --public-url does to every cluster's issuer.
func movedHost(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	if err1 != nil || err2 != nil || ua.Host == "" || ub.Host == "" {
		return false
	}
	pa, pb := strings.TrimSuffix(ua.Path, "/"), strings.TrimSuffix(ub.Path, "/")
	return pa != "" && strings.EqualFold(pa, pb) && !strings.EqualFold(ua.Host, ub.Host)
}

// staleIssuers finds the federated credentials that name the cluster issuer
// iss at another host:port.
func staleIssuers(fics []ficOf, iss string) []ficOf {
	var out []ficOf
	for _, f := range fics {
		if movedHost(f.fic.Properties.Issuer, iss) {
			out = append(out, f)
		}
	}
	return out
}

// recordedPublicURL reads the public URL the local server recorded when it
// first published issuers (ward serve's public-url.json), if the CLI uses
// the local server's data directory.
func recordedPublicURL(p profile) string {
	if p.Login || p.Source == "" {
		return ""
	}
	b, err := os.ReadFile(filepath.Join(filepath.Dir(p.Source), client.PublicURLFile))
	if err != nil {
		return ""
	}
	var rec client.PublicURLRecord
	if json.Unmarshal(b, &rec) != nil {
		return ""
	}
	return strings.TrimSuffix(rec.PublicURL, "/")
}

// issuerBefore is the URL a hosted issuer had under the recorded public
// URL, when that differs from the current one.
func issuerBefore(iss, recorded string) string {
	if recorded == "" {
		return ""
	}
	u, err := url.Parse(iss)
	r, err2 := url.Parse(recorded)
	if err != nil || err2 != nil || strings.EqualFold(u.Host, r.Host) {
		return ""
	}
	u.Scheme, u.Host = r.Scheme, r.Host
	return u.String()
}

// issuerMove is what still names a cluster's issuer at another host:port:
// the issuer URL under the public URL the local server recorded (before),
// the federated credentials (stale, one sentence each), and the way out
// for all of them (fix; "" when nothing moved).
type issuerMove struct {
	before string
	stale  []string
	fix    string
}

// issuerMoves reads what issuerMoveOf needs for a cluster's issuer iss:
// the recorded public URL and every federated credential of the
// subscription (none when they cannot be listed: this is advice).
func issuerMoves(ctx context.Context, c *conn, sub, iss string) issuerMove {
	fics, err := allFederatedCredentials(ctx, c, sub)
	if err != nil {
		fics = nil
	}
	return issuerMoveOf(iss, recordedPublicURL(c.profile), fics)
}

// issuerMoveOf explains, for a cluster's issuer iss, what still names it
// at another host:port: the public URL recorded when the server first
// started, and the federated credentials fics.
func issuerMoveOf(iss, recorded string, fics []ficOf) issuerMove {
	var m issuerMove
	var olds []string
	if b := issuerBefore(iss, recorded); b != "" {
		m.before = fmt.Sprintf("the cluster's issuer was %s when the server first started (%s); it is now %s", b, client.PublicURLFile, iss)
		olds = append(olds, b)
	}
	for _, f := range staleIssuers(fics, iss) {
		m.stale = append(m.stale, fmt.Sprintf("federated credential %q of identity %s names issuer %s, which differs from the cluster's issuer %s only by host:port, so its tokens no longer match",
			f.fic.Name, f.identity.Name, f.fic.Properties.Issuer, iss))
		olds = append(olds, f.fic.Properties.Issuer)
	}
	if len(olds) == 0 {
		return issuerMove{}
	}
	old, _ := url.Parse(olds[0])
	// Each command ends its own line, so that it copies without the prose.
	m.fix = "Ward's public URL changed. Keep the old issuer URLs by serving there again (its old --addr, or a proxy):\n        " +
		shellquote.Join("ward", "serve", "--public-url", "https://"+old.Host) +
		"\n      or move each credential to the new issuer and reconfigure kube-apiserver (ward aks show-apiserver-flags):\n        " +
		shellquote.Join("ward", "identity", "federated-credential", "update", "--name", "NAME", "--identity-name", "IDENTITY", "-g", "GROUP", "--issuer", iss)
	return m
}

// warn writes the move as ward aks show's warnings.
func (m issuerMove) warn(w io.Writer) {
	for _, s := range append([]string{m.before}, m.stale...) {
		if s != "" {
			fmt.Fprintln(w, "WARNING: "+s)
		}
	}
	if m.fix != "" {
		fmt.Fprintln(w, "WARNING: "+m.fix)
	}
}

// report writes the move as the doctor's checks: the recorded URL a note,
// each stale credential a failure with the fix.
func (m issuerMove) report(r *report) {
	if m.before != "" {
		r.note("%s", m.before)
	}
	for _, s := range m.stale {
		r.fail(s, m.fix)
	}
}
