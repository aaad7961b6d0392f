package vault

import "testing"

func TestHosts(t *testing.T) {
	cases := []struct {
		public, suffix, resource, uri string
	}{
		{"https://127.0.0.1:8443", "vault.localhost:8443", "https://vault.localhost:8443", "https://kv.vault.localhost:8443/"},
		{"https://localhost:9000", "vault.localhost:9000", "https://vault.localhost:9000", "https://kv.vault.localhost:9000/"},
		{"https://ward.example.com", "vault.ward.example.com", "https://vault.ward.example.com", "https://kv.vault.ward.example.com/"},
	}
	for _, tc := range cases {
		h := NewHosts(tc.public)
		if h.Suffix != tc.suffix || h.Resource() != tc.resource || h.URI("KV") != tc.uri {
			t.Errorf("NewHosts(%s) = %+v, %s, %s", tc.public, h, h.Resource(), h.URI("KV"))
		}
	}
	h := NewHosts("https://127.0.0.1:8443")
	for host, want := range map[string]string{
		"team-kv.vault.localhost:8443": "team-kv",
		"TEAM-KV.Vault.LocalHost:8443": "team-kv",
		"a.b.vault.localhost:8443":     "",
		"team-kv.vault.localhost:9999": "",
		"127.0.0.1:8443":               "",
		"vault.localhost:8443":         "",
	} {
		got, ok := h.VaultFromHost(host)
		if (want == "") == ok || got != want && want != "" {
			t.Errorf("VaultFromHost(%q) = %q, %v; want %q", host, got, ok, want)
		}
	}
	// A default port may be omitted by clients on 443.
	h443 := NewHosts("https://ward.example.com")
	if got, ok := h443.VaultFromHost("kv.vault.ward.example.com"); !ok || got != "kv" {
		t.Errorf("default port: %q %v", got, ok)
	}
}
