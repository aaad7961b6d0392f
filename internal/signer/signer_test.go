package signer

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/ward-id/ward/internal/storage"
	"github.com/ward-id/ward/internal/wardtest"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time      { return c.t }
func (c *clock) add(d time.Duration) { c.t = c.t.Add(d) }
func kids(set jose.JSONWebKeySet) string {
	var s []string
	for _, k := range set.Keys {
		s = append(s, k.KeyID)
	}
	return strings.Join(s, ",")
}

func newStore(t *testing.T) storage.Storage {
	return wardtest.OpenSQLite(t)
}

func TestRotationLifecycle(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	c := &clock{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	kek := bytes.Repeat([]byte{7}, 32)
	cfg := Config{Store: st, KEK: kek, Now: c.now, RotateEvery: 10 * 24 * time.Hour, PublishAhead: 24 * time.Hour, MaxTokenLifetime: 25 * time.Hour}
	m, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	first := m.Signing()
	if first.ID == "" || first.Alg != jose.RS256 || len(m.JWKS().Keys) != 1 {
		t.Fatalf("initial key %+v, jwks %s", first.ID, kids(m.JWKS()))
	}
	pub := m.JWKS().Keys[0]
	if pub.Use != "sig" || len(pub.Certificates) != 1 || len(pub.CertificateThumbprintSHA1) != 20 || !pub.IsPublic() {
		t.Fatalf("published key = %+v", pub)
	}

	// Before PublishAhead: nothing new.
	c.add(8 * 24 * time.Hour)
	if err := m.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if len(m.JWKS().Keys) != 1 {
		t.Fatalf("next key published too early: %s", kids(m.JWKS()))
	}
	// Within PublishAhead of the due time: the next key is published, not
	// used. This refresh runs 12 h late, so activation moves to keep the full
	// publish-ahead window (day 10.5 instead of day 10).
	c.add(36 * time.Hour)
	if err := m.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if len(m.JWKS().Keys) != 2 || m.Signing().ID != first.ID {
		t.Fatalf("after publish-ahead: jwks %s, signing %s", kids(m.JWKS()), m.Signing().ID)
	}
	if m.Signing().ID != first.ID {
		t.Fatal("next key used before its publish-ahead window ended")
	}
	// Past the activation time: the next key signs, the first is still published.
	c.add(25 * time.Hour)
	second := m.Signing()
	if second.ID == first.ID {
		t.Fatal("the next key did not take over at its activation time")
	}
	if _, ok := m.Lookup(first.ID); !ok {
		t.Fatal("previous key no longer published right after rotation")
	}
	// After every token of the first key has expired, it is gone.
	c.add(26 * time.Hour)
	if err := m.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Lookup(first.ID); ok {
		t.Fatalf("retired key still published: %s", kids(m.JWKS()))
	}

	// A forced rotation signs with a new key at once, keeping the old published.
	third, err := m.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m.Signing().ID != third.ID {
		t.Fatal("Rotate did not switch the signing key")
	}
	if _, ok := m.Lookup(second.ID); !ok {
		t.Fatal("Rotate dropped the previous key from the JWKS")
	}

	// A second manager (another replica) on the same store sees the same keys.
	m2, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if m2.Signing().ID != third.ID {
		t.Fatalf("replica signs with %s, want %s", m2.Signing().ID, third.ID)
	}
	// The wrong KEK cannot open them.
	cfg.KEK = bytes.Repeat([]byte{8}, 32)
	if _, err := New(ctx, cfg); err == nil || !strings.Contains(err.Error(), "key-encryption key") {
		t.Fatalf("wrong KEK: %v", err)
	}
}

func TestKeysAreEncryptedAtRest(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	m, err := New(ctx, Config{Store: st, KEK: bytes.Repeat([]byte{1}, 32), Alg: jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	stored, _, err := st.ListSigningKeys(ctx, "", storage.Page{})
	if err != nil || len(stored) != 1 {
		t.Fatal(stored, err)
	}
	if m.Signing().Alg != jose.ES256 {
		t.Fatalf("alg = %s", m.Signing().Alg)
	}
	if bytes.Contains(stored[0].EncryptedKey, []byte{0x30, 0x81}) && bytes.HasPrefix(stored[0].EncryptedKey, []byte{0x30}) {
		t.Fatal("stored key looks like clear DER")
	}
}

// TestAlgorithmChangeRotates: a store whose current key is RS256, opened
// with ES256, signs ES256 from then on and keeps the RS256 key published
// for the tokens it signed; opened again with ES256 it does not rotate.
func TestAlgorithmChangeRotates(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	kek := bytes.Repeat([]byte{7}, 32)
	rs, err := New(ctx, Config{Store: st, KEK: kek})
	if err != nil {
		t.Fatal(err)
	}
	old := rs.Signing()
	es, err := New(ctx, Config{Store: st, KEK: kek, Alg: jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	cur := es.Signing()
	if cur.Alg != jose.ES256 || cur.ID == old.ID {
		t.Fatalf("after start with ES256: signing %s %s, was %s %s", cur.Alg, cur.ID, old.Alg, old.ID)
	}
	if _, ok := es.Lookup(old.ID); !ok {
		t.Fatalf("the RS256 key %s is no longer published: %s", old.ID, kids(es.JWKS()))
	}
	again, err := New(ctx, Config{Store: st, KEK: kek, Alg: jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	if again.Signing().ID != cur.ID || len(again.JWKS().Keys) != 2 {
		t.Fatalf("a second ES256 start rotated again: %s, jwks %s", again.Signing().ID, kids(again.JWKS()))
	}
}
