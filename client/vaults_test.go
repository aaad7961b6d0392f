package client

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

func TestVaultURL(t *testing.T) {
	for _, tc := range []struct{ server, name, want string }{
		{"https://127.0.0.1:8443", "team-kv", "https://team-kv.vault.localhost:8443/"},
		{"https://127.0.0.1:8443/", "Team-KV", "https://team-kv.vault.localhost:8443/"},
		{"https://localhost:9443", "kv", "https://kv.vault.localhost:9443/"},
		{"https://[::1]:8443", "kv", "https://kv.vault.localhost:8443/"},
		{"https://ward.example.com", "kv", "https://kv.vault.ward.example.com/"},
	} {
		if got, err := VaultURL(tc.server, tc.name); err != nil || got != tc.want {
			t.Errorf("VaultURL(%q, %q) = %q, %v; want %q", tc.server, tc.name, got, err, tc.want)
		}
	}
}

func TestVerifyChallengeResource(t *testing.T) {
	for _, tc := range []struct {
		vault, resource string
		ok              bool
	}{
		{"https://team-kv.vault.localhost:8443", "https://vault.localhost:8443", true},
		{"https://team-kv.vault.azure.net", "https://vault.azure.net", true},
		{"https://team-kv.vault.localhost:8443", "https://management.azure.com", false},
		{"https://team-kv.vault.localhost:8443", "https://team-kv.vault.localhost:8443", false},
		{"https://evil-vault.localhost:8443", "https://vault.localhost:8443", false},
		{"https://team-kv.vault.localhost:8443", "", false},
	} {
		if err := verifyChallengeResource(tc.vault, tc.resource); (err == nil) != tc.ok {
			t.Errorf("verifyChallengeResource(%q, %q) = %v, want ok %v", tc.vault, tc.resource, err, tc.ok)
		}
	}
	if got := challengeParam(`Bearer authorization="https://a/t", resource="https://vault.localhost:8443"`, "resource"); got != "https://vault.localhost:8443" {
		t.Errorf("challengeParam = %q", got)
	}
}

func TestSecretName(t *testing.T) {
	s := Secret{ID: "https://kv.vault.localhost:8443/secrets/db-password/0123abcd"}
	if s.Name() != "db-password" || s.Version() != "0123abcd" {
		t.Fatalf("Name, Version = %q, %q", s.Name(), s.Version())
	}
	if l := (Secret{ID: "https://kv.vault.localhost:8443/secrets/db"}); l.Name() != "db" || l.Version() != "" {
		t.Fatalf("list item Name, Version = %q, %q", l.Name(), l.Version())
	}
}

// TestSecretsClientChallenge: the first request draws the 401 challenge,
// the token is for the challenge's resource, and the vault's *.localhost
// host is dialled at localhost.
func TestSecretsClientChallenge(t *testing.T) {
	var unauthenticated atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.Host, "team-kv.vault.localhost:") {
			http.Error(w, "wrong host "+r.Host, http.StatusBadRequest)
			return
		}
		if r.Header.Get("Authorization") != "Bearer token-for-https://vault.localhost" {
			unauthenticated.Add(1)
			w.Header().Set("WWW-Authenticate", `Bearer authorization="https://127.0.0.1/tenant", resource="https://vault.localhost"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.URL.Query().Get("api-version") != APIVersionSecrets {
			http.Error(w, "api-version", http.StatusBadRequest)
			return
		}
		switch r.Method {
		case http.MethodPut:
			var body Secret
			_ = json.NewDecoder(r.Body).Decode(&body)
			body.ID = "https://" + r.Host + r.URL.Path + "/v1"
			_ = json.NewEncoder(w).Encode(body)
		case http.MethodGet:
			_ = json.NewEncoder(w).Encode(map[string]any{"value": []Secret{{ID: "https://" + r.Host + "/secrets/a"}}, "nextLink": nil})
		}
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	hc, err := NewHTTPClient("")
	if err != nil {
		t.Fatal(err)
	}
	hc.Transport.(*http.Transport).TLSClientConfig.InsecureSkipVerify = true // the test server's certificate does not name the vault
	var resources []string
	kv, err := NewSecretsClient("https://team-kv.vault.localhost:"+port+"/", func(resource string) TokenSource {
		resources = append(resources, resource)
		return StaticToken("token-for-" + resource)
	}, hc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s, err := kv.SetSecret(ctx, "db-password", "s3cr3t", SetSecretParameters{ContentType: "text/plain"})
	if err != nil || s.Name() != "db-password" || *s.Value != "s3cr3t" || s.ContentType != "text/plain" {
		t.Fatalf("SetSecret = %+v, %v", s, err)
	}
	items, err := kv.ListSecrets(ctx)
	if err != nil || len(items) != 1 || items[0].Name() != "a" {
		t.Fatalf("ListSecrets = %+v, %v", items, err)
	}
	if len(resources) != 1 || resources[0] != "https://vault.localhost" || unauthenticated.Load() != 1 {
		t.Fatalf("token resources %v after %d challenge(s), want one challenge and one resource", resources, unauthenticated.Load())
	}
}
