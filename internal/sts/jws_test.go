package sts

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// TestCompactJWS: an access token written by signCompact verifies with
// go-jose against the signing key, for both algorithms and both token
// versions, and carries the header go-jose wrote before (alg, kid, typ,
// and x5t on v1 tokens), in the same bytes.
func TestCompactJWS(t *testing.T) {
	for _, alg := range []jose.SignatureAlgorithm{jose.RS256, jose.ES256} {
		for _, resource := range []string{"https://management.azure.com", "11111111-2222-3333-4444-555555555555"} {
			t.Run(string(alg)+" "+resource, func(t *testing.T) {
				e := newEnv(t, alg)
				key := e.svc.keys.Signing()
				p := principal{TenantID: tenant, AppID: miID, ObjectID: "o", AuthMethod: "2"}
				tok, _, err := e.svc.mint(p, resource, time.Hour)
				if err != nil {
					t.Fatal(err)
				}
				jws, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{alg})
				if err != nil {
					t.Fatalf("go-jose parse: %v", err)
				}
				payload, err := jws.Verify(key.Private.Public())
				if err != nil {
					t.Fatalf("go-jose verify: %v", err)
				}
				var c accessClaims
				if err := json.Unmarshal(payload, &c); err != nil || c.Oid != "o" || c.Tid != tenant {
					t.Fatalf("claims %+v, %v", c, err)
				}
				// The header go-jose's signer writes for the same key.
				opts := (&jose.SignerOptions{}).WithType("JWT")
				if tokenVersion(resource) == 1 {
					opts = opts.WithHeader("x5t", key.X5T)
				}
				js, err := newSigner(key, opts)
				if err != nil {
					t.Fatal(err)
				}
				ref, err := js.Sign(payload)
				if err != nil {
					t.Fatal(err)
				}
				want, _ := ref.CompactSerialize()
				if got, want := strings.Split(tok, ".")[0], strings.Split(want, ".")[0]; got != want {
					gh, _ := base64.RawURLEncoding.DecodeString(got)
					wh, _ := base64.RawURLEncoding.DecodeString(want)
					t.Errorf("header %s, go-jose writes %s", gh, wh)
				}
			})
		}
	}
}

func TestRawECDSA(t *testing.T) {
	der := func(r, s []byte) []byte {
		in := func(n []byte) []byte { return append([]byte{0x02, byte(len(n))}, n...) }
		body := append(in(r), in(s)...)
		return append([]byte{0x30, byte(len(body))}, body...)
	}
	r := append([]byte{0x00, 0x80}, bytes.Repeat([]byte{1}, 31)...) // 32 bytes after its sign byte
	s := []byte{0x05}                                               // short: left-padded
	got, err := rawECDSA(der(r, s), 32)
	if err != nil {
		t.Fatal(err)
	}
	want := append(append([]byte{0x80}, bytes.Repeat([]byte{1}, 31)...), append(make([]byte, 31), 0x05)...)
	if !bytes.Equal(got, want) {
		t.Errorf("rawECDSA = %x, want %x", got, want)
	}
	for name, bad := range map[string][]byte{
		"empty":        nil,
		"not sequence": {0x02, 0x01, 0x01},
		"one integer":  {0x30, 0x03, 0x02, 0x01, 0x01},
		"trailing":     append(der([]byte{1}, []byte{1}), 0),
		"too long":     der(bytes.Repeat([]byte{1}, 33), []byte{1}),
	} {
		if _, err := rawECDSA(bad, 32); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// BenchmarkSignAccessToken compares go-jose's signer with signCompact on
// the same claims and key: what mint saves per token.
func BenchmarkSignAccessToken(b *testing.B) {
	for _, alg := range []jose.SignatureAlgorithm{jose.ES256, jose.RS256} {
		e := newEnv(b, alg)
		key := e.svc.keys.Signing()
		payload, _ := json.Marshal(accessClaims{Aud: "https://management.azure.com", Iss: IssuerV1("https://ward.test", tenant), Oid: "o", Sub: "o", Tid: tenant,
			Aio: randomID(24), Rh: randomID(18), Uti: randomID(16), Ver: "1.0", AppID: miID, AppIDACR: "2"})
		b.Run(string(alg)+"/go-jose", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				js, err := newSigner(key, (&jose.SignerOptions{}).WithType("JWT").WithHeader("x5t", key.X5T))
				if err != nil {
					b.Fatal(err)
				}
				o, err := js.Sign(payload)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := o.CompactSerialize(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(string(alg)+"/compact", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				h, err := e.svc.headers.get(key, true)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := signCompact(key, h, payload); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
