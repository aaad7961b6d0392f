package datahost

import "testing"

func TestSuffix(t *testing.T) {
	tests := []struct{ url, label, want string }{
		{"https://127.0.0.1:8443", "vault", "vault.localhost:8443"},
		{"https://[::1]:8443", "blob", "blob.localhost:8443"},
		{"https://localhost:9443/", "azurecr", "azurecr.localhost:9443"},
		{"https://10.0.0.7:8443", "vault", "vault.localhost:8443"},
		{"https://ward.example.com", "vault", "vault.ward.example.com"},
		{"https://Ward.example.com:443", "blob", "blob.Ward.example.com:443"},
		{"https://127.0.0.1:8443", "", "localhost:8443"},
		{"https://ward.example.com", "", "ward.example.com"},
		{"://bad", "vault", "vault.localhost"},
	}
	for _, tt := range tests {
		if got := Suffix(tt.url, tt.label); got != tt.want {
			t.Errorf("Suffix(%q, %q) = %q, want %q", tt.url, tt.label, got, tt.want)
		}
	}
}

func TestName(t *testing.T) {
	tests := []struct {
		host, suffix, want string
		ok                 bool
	}{
		{"team-kv.vault.localhost:8443", "vault.localhost:8443", "team-kv", true},
		{"TEAM-KV.Vault.LocalHost:8443", "vault.localhost:8443", "team-kv", true},
		{"team-kv.vault.localhost", "vault.localhost:8443", "team-kv", true}, // default port left out
		{"team-kv.vault.localhost:9999", "vault.localhost:8443", "", false},  // another port
		{"a.b.vault.localhost:8443", "vault.localhost:8443", "a.b", false},   // two labels
		{"vault.localhost:8443", "vault.localhost:8443", "", false},          // no name
		{".vault.localhost:8443", "vault.localhost:8443", "", false},
		{"team-kv.blob.localhost:8443", "vault.localhost:8443", "", false},
		{"x.vault.ward.example.com", "vault.ward.example.com", "x", true},
	}
	for _, tt := range tests {
		got, ok := Name(tt.host, tt.suffix)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Name(%q, %q) = %q, %v; want %q, %v", tt.host, tt.suffix, got, ok, tt.want, tt.ok)
		}
	}
}
