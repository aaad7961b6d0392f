package registry

import (
	"crypto/x509"
	"encoding/pem"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/distribution/distribution/v3/configuration"
)

func TestParseScopes(t *testing.T) {
	cases := []struct {
		name    string
		in      []string
		want    []ResourceActions
		wantErr string
	}{
		{"one", []string{"repository:apps/hello:pull"}, []ResourceActions{{"repository", "apps/hello", []string{"pull"}}}, ""},
		{"several in one and repeated", []string{"repository:a:pull,push registry:catalog:*", "repository:b:delete"},
			[]ResourceActions{{"repository", "a", []string{"pull", "push"}}, {"registry", "catalog", []string{"*"}}, {"repository", "b", []string{"delete"}}}, ""},
		{"name with a port", []string{"repository:host:5000/app:pull"}, []ResourceActions{{"repository", "host:5000/app", []string{"pull"}}}, ""},
		{"no actions", []string{"repository:a:"}, nil, "type:name:actions"},
		{"no name", []string{"repository:pull"}, nil, "type:name:actions"},
		{"too many", []string{strings.Repeat("repository:a:pull ", MaxScopes+1)}, nil, "at most"},
		{"none", nil, nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseScopes(c.in)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("ParseScopes(%q) error = %v, want %q", c.in, err, c.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, c.want) {
				t.Fatalf("ParseScopes(%q) = %v, %v; want %v", c.in, got, err, c.want)
			}
		})
	}
}

// roles grants principals RBAC actions at one scope, as authz would.
type roles map[string][]string

func (r roles) Allowed(principal, action, scope string) bool {
	if scope != "/subscriptions/s/resourceGroups/g/providers/Microsoft.ContainerRegistry/registries/r" {
		return false
	}
	for _, a := range r[principal] {
		if a == action {
			return true
		}
	}
	return false
}

func TestGrant(t *testing.T) {
	const scope = "/subscriptions/s/resourceGroups/g/providers/Microsoft.ContainerRegistry/registries/r"
	rbac := roles{
		"puller":  {ActionPull},
		"pusher":  {ActionPull, ActionPush},
		"deleter": {ActionDelete},
		"owner":   {ActionPull, ActionPush, ActionDelete},
	}
	ask := func(s ...string) []ResourceActions { got, _ := ParseScopes(s); return got }
	cases := []struct {
		principal, scope string
		asked            []ResourceActions
		want             []ResourceActions
	}{
		{"puller", scope, ask("repository:a:pull,push"), []ResourceActions{{"repository", "a", []string{"pull"}}}},
		{"pusher", scope, ask("repository:a:pull,push,delete"), []ResourceActions{{"repository", "a", []string{"pull", "push"}}}},
		{"deleter", scope, ask("repository:a:pull,delete"), []ResourceActions{{"repository", "a", []string{"delete"}}}},
		{"owner", scope, ask("repository:a:*"), []ResourceActions{{"repository", "a", []string{"*", "delete", "pull", "push"}}}},
		{"pusher", scope, ask("repository:a:*"), []ResourceActions{}}, // * only with every action
		{"puller", scope, ask("registry:catalog:*"), []ResourceActions{{"registry", "catalog", []string{"*"}}}},
		{"deleter", scope, ask("registry:catalog:*"), []ResourceActions{}},
		{"nobody", scope, ask("repository:a:pull"), []ResourceActions{}},
		{"owner", "/subscriptions/s/resourceGroups/g/providers/Microsoft.ContainerRegistry/registries/other", ask("repository:a:pull"), []ResourceActions{}},
		{"", scope, ask("repository:a:pull"), []ResourceActions{}},
	}
	for _, c := range cases {
		t.Run(c.principal+" "+c.scope[len(c.scope)-5:], func(t *testing.T) {
			if got := Grant(rbac, c.principal, c.scope, c.asked); !reflect.DeepEqual(got, c.want) {
				t.Fatalf("Grant(%s, %v) = %v, want %v", c.principal, c.asked, got, c.want)
			}
		})
	}
}

func TestTokens(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	kek := []byte("0123456789abcdef0123456789abcdef")
	a, err := NewTokens(TokensConfig{KEK: kek, Issuer: "https://ward.test/acr", Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewTokens(TokensConfig{KEK: kek, Issuer: "https://ward.test/acr", Now: clock})
	if string(a.RootPEM()) != string(b.RootPEM()) {
		t.Fatal("two replicas with one KEK derive different token roots")
	}
	other, _ := NewTokens(TokensConfig{KEK: []byte("another kek, another key........"), Issuer: "https://ward.test/acr", Now: clock})
	if string(a.RootPEM()) == string(other.RootPEM()) {
		t.Fatal("different KEKs derive the same root")
	}
	blk, _ := pem.Decode(a.RootPEM())
	if _, err := x509.ParseCertificate(blk.Bytes); err != nil {
		t.Fatal(err)
	}

	c := Caller{ObjectID: "oid-1", TenantID: "tid"}
	rt, exp, err := a.RefreshToken(c, "r.azurecr.localhost", now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !exp.Equal(now.Add(time.Hour)) {
		t.Fatalf("refresh token expires %v, want the source token's %v", exp, now.Add(time.Hour))
	}
	if _, exp, _ := a.RefreshToken(c, "r.azurecr.localhost", now.Add(24*time.Hour)); !exp.Equal(now.Add(RefreshTokenLifetime)) {
		t.Fatalf("refresh token expires %v, want at most %v", exp, RefreshTokenLifetime)
	}
	if got, err := b.VerifyRefresh(rt, "R.azurecr.localhost"); err != nil || got != c {
		t.Fatalf("another replica verifies: %+v %v", got, err)
	}
	at, _, _ := a.AccessToken(c, "r.azurecr.localhost", nil)
	for name, tc := range map[string]struct {
		tok, service string
		tokens       *Tokens
	}{
		"other registry":    {rt, "s.azurecr.localhost", a},
		"other key":         {rt, "r.azurecr.localhost", other},
		"access as refresh": {at, "r.azurecr.localhost", a},
		"garbage":           {"not.a.jwt", "r.azurecr.localhost", a},
		"oversized":         {strings.Repeat("a", 20000), "r.azurecr.localhost", a},
	} {
		if _, err := tc.tokens.VerifyRefresh(tc.tok, tc.service); err == nil {
			t.Errorf("%s: refresh token accepted", name)
		}
	}
	now = now.Add(time.Hour + time.Second)
	if _, err := a.VerifyRefresh(rt, "r.azurecr.localhost"); err == nil {
		t.Error("expired refresh token accepted")
	}
}

// TestConfigStartsDistribution: the configuration show-config prints is
// one distribution parses, with token auth as Ward's tokens need.
func TestConfigStartsDistribution(t *testing.T) {
	text := Config(ConfigOptions{LoginServer: "r.azurecr.localhost:8443", Issuer: "https://127.0.0.1:8443/acr",
		RootCertBundle: "/data/token-root.pem", RootDirectory: "/data/r", Secret: "s"})
	cfg, err := configuration.Parse(strings.NewReader(text))
	if err != nil {
		t.Fatalf("parse:\n%s\n%v", text, err)
	}
	tok := cfg.Auth["token"]
	want := map[string]any{"realm": "https://r.azurecr.localhost:8443/oauth2/token", "service": "r.azurecr.localhost:8443",
		"issuer": "https://127.0.0.1:8443/acr", "rootcertbundle": "/data/token-root.pem"}
	for k, v := range want {
		if tok[k] != v {
			t.Errorf("auth.token.%s = %v, want %v", k, tok[k], v)
		}
	}
	if cfg.Storage.Type() != "filesystem" || cfg.Storage["filesystem"]["rootdirectory"] != "/data/r" {
		t.Errorf("storage = %v", cfg.Storage)
	}
}

func TestHosts(t *testing.T) {
	cases := []struct {
		publicURL, suffix, host, name string
		ok                            bool
	}{
		{"https://127.0.0.1:8443", "azurecr.localhost:8443", "TeamAcr.azurecr.localhost:8443", "teamacr", true},
		{"https://127.0.0.1:8443", "azurecr.localhost:8443", "a.b.azurecr.localhost:8443", "", false},
		{"https://127.0.0.1:8443", "azurecr.localhost:8443", "teamacr.vault.localhost:8443", "", false},
		{"https://ward.example.com", "azurecr.ward.example.com", "teamacr.azurecr.ward.example.com", "teamacr", true},
	}
	for _, c := range cases {
		h := NewHosts(c.publicURL)
		if h.Suffix != c.suffix || h.DNSSuffix() != "."+c.suffix {
			t.Errorf("NewHosts(%s) = %q", c.publicURL, h.Suffix)
		}
		if name, ok := h.RegistryFromHost(c.host); ok != c.ok || (ok && name != c.name) {
			t.Errorf("RegistryFromHost(%s) = %q %v, want %q %v", c.host, name, ok, c.name, c.ok)
		}
	}
}
