package challenge

import "testing"

// TestShapes pins each challenge as the real service sends it; the literals
// are the wire, so a rename fails here.
func TestShapes(t *testing.T) {
	cases := []struct {
		name, got, want string
	}{
		{"key vault", KeyVault("https://w/t1", "https://vault.localhost:8443"),
			`Bearer authorization="https://w/t1", resource="https://vault.localhost:8443"`},
		{"arm", ARM("https://w/t1", `token "x" expired`),
			`Bearer authorization_uri="https://w/t1", error="invalid_token", error_description="token 'x' expired"`},
		{"graph", Graph("https://w"), `Bearer realm="", authorization_uri="https://w", error="invalid_token"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.got != c.want {
				t.Errorf("got  %s\nwant %s", c.got, c.want)
			}
		})
	}
}

func TestParam(t *testing.T) {
	h := KeyVault("https://w/t1", "https://vault.localhost:8443")
	cases := []struct{ name, want string }{
		{"resource", "https://vault.localhost:8443"},
		{"Authorization", "https://w/t1"},
		{"scope", ""},
	}
	for _, c := range cases {
		if got := Param(h, c.name); got != c.want {
			t.Errorf("Param(%q, %q) = %q, want %q", h, c.name, got, c.want)
		}
	}
}
