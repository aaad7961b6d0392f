package issuer

import (
	"context"
	"errors"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

type remote struct{ asked string }

func (r *remote) Key(_ context.Context, iss, _ string) (*jose.JSONWebKey, error) {
	r.asked = iss
	return nil, errors.New("remote")
}

func TestIDFromURL(t *testing.T) {
	s := New(Config{PublicURL: "https://ward.test/", TenantID: "TENANT"})
	const id = "0b7c6f1e-58a9-4d3e-9a55-1f2e3d4c5b6a"
	for _, tc := range []struct {
		iss    string
		wantOK bool
	}{
		{"https://ward.test/oidc/tenant/" + id + "/", true},
		{"https://ward.test/oidc/tenant/" + id, false},            // no trailing slash
		{"https://ward.test/oidc/other/" + id + "/", false},       // another tenant
		{"https://ward.test/oidc/tenant/not-a-guid/", false},      // not a GUID
		{"https://ward.test/oidc/tenant/" + id + "/x/", false},    // extra segment
		{"https://elsewhere.test/oidc/tenant/" + id + "/", false}, // another host
	} {
		got, ok := s.IDFromURL(tc.iss)
		if ok != tc.wantOK || (ok && got != id) {
			t.Errorf("IDFromURL(%q) = %q, %v; want ok=%v", tc.iss, got, ok, tc.wantOK)
		}
	}
	if u := s.URL(id); u != "https://ward.test/oidc/tenant/"+id+"/" {
		t.Errorf("URL = %q", u)
	}
	if d := s.Discovery(id); d.Issuer != s.URL(id) || d.JWKSURI != s.URL(id)+JWKSPath {
		t.Errorf("Discovery = %+v", d)
	}
}

// TestKeyRemoteFallback: issuers Ward does not host go to the remote source;
// HostedKey never fetches.
func TestKeyRemoteFallback(t *testing.T) {
	r := &remote{}
	s := New(Config{PublicURL: "https://ward.test", TenantID: "t", Remote: r})
	if _, err := s.Key(context.Background(), "https://issuer.example/", "k"); err == nil || r.asked != "https://issuer.example/" {
		t.Fatalf("Key of a remote issuer: err %v, remote asked %q", err, r.asked)
	}
	r.asked = ""
	if _, err := s.HostedKey(context.Background(), "https://issuer.example/", "k"); err == nil || r.asked != "" {
		t.Fatalf("HostedKey of a remote issuer: err %v, remote asked %q", err, r.asked)
	}
}
