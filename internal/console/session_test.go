package console

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/ward-id/ward/internal/authn"
	"github.com/ward-id/ward/internal/clientsecret"
	"github.com/ward-id/ward/internal/storage"
	"github.com/ward-id/ward/internal/wardtest"
)

// TestSessionEndsWithItsToken: a link made with a token that expires in
// minutes opens a session that ends with that token, not eight hours later,
// and a token already past its exp (within the authenticator's leeway)
// makes no link.
func TestSessionEndsWithItsToken(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := newSessions(func() time.Time { return now })
	who := Who{ObjectID: "o", AppID: "a"}
	cases := []struct {
		name     string
		tokenFor time.Duration
		linkFor  time.Duration
		lasts    time.Duration
	}{
		{"token of ten minutes", 10 * time.Minute, LinkLifetime, 10 * time.Minute},
		{"token of one minute", time.Minute, time.Minute, time.Minute},
		{"token of a day", 24 * time.Hour, LinkLifetime, AbsoluteTimeout},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			start := now
			code, exp, err := s.newLink(who, origin{tokenExpires: start.Add(tc.tokenFor)})
			if err != nil || !exp.Equal(start.Add(tc.linkFor)) {
				t.Fatalf("link: %v, expires %v, want %v", err, exp, start.Add(tc.linkFor))
			}
			sid, sess, err := s.redeem(code)
			if err != nil || !sess.ends.Equal(start.Add(tc.lasts)) {
				t.Fatalf("session: %v, ends %v, want %v", err, sess.ends, start.Add(tc.lasts))
			}
			// Stay active, so only the end matters.
			for now = start; now.Before(start.Add(tc.lasts)); now = now.Add(min(tc.lasts/4, IdleTimeout/2)) {
				if _, ok := s.get(sid); !ok {
					t.Fatalf("session ended early, %v after it began", now.Sub(start))
				}
			}
			now = start.Add(tc.lasts)
			if _, ok := s.get(sid); ok {
				t.Errorf("session outlived its end (%v)", tc.lasts)
			}
		})
	}
	if _, _, err := s.newLink(who, origin{tokenExpires: now.Add(-time.Second)}); !errors.Is(err, errTokenExpired) {
		t.Errorf("link from an expired token: %v, want errTokenExpired", err)
	}
}

// TestSessionQuotas: one principal making link after link and signing in
// again and again (10,050 times: the reported attack) keeps at most its
// quota of links and sessions, evicting only its own oldest; another
// principal's session survives. A table full of live sessions of many
// principals refuses the next sign-in instead of evicting anyone.
func TestSessionQuotas(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := newSessions(func() time.Time { return now })
	from := origin{tokenExpires: now.Add(time.Hour)}
	admin := Who{ObjectID: "admin", AppID: "admin"}
	code, _, _ := s.newLink(admin, from)
	adminSID, _, err := s.redeem(code)
	if err != nil {
		t.Fatal(err)
	}
	attacker := Who{ObjectID: "attacker", AppID: "attacker"}
	var first string
	for i := 0; i < 10050; i++ {
		now = now.Add(time.Millisecond)
		code, _, err := s.newLink(attacker, from)
		if err != nil {
			t.Fatalf("link %d: %v", i, err)
		}
		sid, _, err := s.redeem(code)
		if err != nil {
			t.Fatalf("sign-in %d: %v", i, err)
		}
		if i == 0 {
			first = sid
		}
		if i%1000 == 0 { // unredeemed links count too
			for j := 0; j < 2*MaxLinksPerPrincipal; j++ {
				if _, _, err := s.newLink(attacker, from); err != nil {
					t.Fatalf("spare link: %v", err)
				}
			}
		}
	}
	if _, ok := s.get(adminSID); !ok {
		t.Fatal("the attacker signed the admin out")
	}
	if _, ok := s.get(first); ok {
		t.Error("the attacker's oldest session survived its quota")
	}
	links, sessions := s.counts()
	if links > MaxLinksPerPrincipal || sessions != MaxSessionsPerPrincipal+1 {
		t.Errorf("tables hold %d links and %d sessions, want at most %d and %d", links, sessions, MaxLinksPerPrincipal, MaxSessionsPerPrincipal+1)
	}

	// Fill the table with live sessions of many principals.
	for i := 0; len(s.sessions) < maxSessions; i++ {
		code, _, err := s.newLink(Who{ObjectID: uuid.NewString()}, from)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.redeem(code); err != nil {
			t.Fatalf("sign-in %d: %v", i, err)
		}
	}
	late := Who{ObjectID: "late"}
	code, _, _ = s.newLink(late, from)
	if _, _, err := s.redeem(code); !errors.Is(err, errFull) {
		t.Errorf("sign-in into a full table: %v, want errFull", err)
	}
	if _, ok := s.get(adminSID); !ok {
		t.Error("a full table evicted the admin")
	}
	// The refused link stays good for a retry once a session ends.
	s.end(adminSID)
	if _, _, err := s.redeem(code); err != nil {
		t.Errorf("retry after a session ended: %v", err)
	}
}

// TestSessionRevoked: a session is good only while its principal and the
// very credential its token was issued for exist (read from the store).
func TestSessionRevoked(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 1, 1, 0)
	id, err := f.store.GetIdentity(ctx, storage.IdentityRef{SubscriptionID: f.sub, ResourceGroup: "apps", Name: "id-0000"})
	if err != nil {
		t.Fatal(err)
	}
	fic, err := f.store.GetFederatedCredential(ctx, id.Ref(), "fic-0")
	if err != nil {
		t.Fatal(err)
	}
	sp := f.grant(t, "", "")
	now := time.Now()
	for _, k := range []string{"k1", "k2"} {
		secret, hint := clientsecret.Generate()
		if err := f.store.AddClientSecret(ctx, clientsecret.New(k, sp, k, secret, hint, now, now.Add(time.Hour))); err != nil {
			t.Fatal(err)
		}
	}
	spSession := func(cred string) session {
		return session{who: Who{ObjectID: sp, AppID: sp}, from: origin{credential: cred}}
	}
	miSession := func(cred string) session {
		return session{who: Who{ObjectID: id.PrincipalID, AppID: id.ClientID}, from: origin{credential: cred}}
	}
	ficCred := authn.FederatedCredential(fic.Name, fic.Issuer, fic.Subject)
	type step struct {
		name   string
		change func(t *testing.T)
		s      session
		ended  bool
	}
	steps := []step{
		{"secret k1", nil, spSession(authn.SecretCredential("k1")), false},
		{"a token that names no credential", nil, spSession(""), false},
		{"another principal's client ID", nil, session{who: Who{ObjectID: sp, AppID: uuid.NewString()}}, true},
		{"a certificate the principal lacks", nil, spSession(authn.CertificateCredential("k1")), true},
		{"k2 removed: k1's session stays", func(t *testing.T) {
			if err := f.store.DeleteClientSecret(ctx, sp, "k2"); err != nil {
				t.Fatal(err)
			}
		}, spSession(authn.SecretCredential("k1")), false},
		{"k2's session ends", nil, spSession(authn.SecretCredential("k2")), true},
		{"federated credential", nil, miSession(ficCred), false},
		{"a secret of a managed identity", nil, miSession(authn.SecretCredential("k1")), true},
		{"federated credential now trusts another subject", func(t *testing.T) {
			fic.Subject = "system:serviceaccount:other:sa"
			if _, err := f.store.PutFederatedCredential(ctx, fic, nil); err != nil {
				t.Fatal(err)
			}
		}, miSession(ficCred), true},
		{"federated credential deleted", func(t *testing.T) {
			if err := f.store.DeleteFederatedCredential(ctx, id.Ref(), fic.Name); err != nil {
				t.Fatal(err)
			}
		}, miSession(authn.FederatedCredential(fic.Name, fic.Issuer, fic.Subject)), true},
		{"service principal deleted", func(t *testing.T) {
			if err := f.store.DeleteServicePrincipal(ctx, sp); err != nil {
				t.Fatal(err)
			}
		}, spSession(""), true},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.change != nil {
				st.change(t)
			}
			why, err := f.h.revoked(ctx, st.s)
			if err != nil {
				t.Fatal(err)
			}
			if (why != "") != st.ended {
				t.Errorf("revoked = %q, want ended=%v", why, st.ended)
			}
		})
	}
	// A store that fails refuses rather than lets the session through.
	f.store.(*wardtest.Store).Fail("GetServicePrincipal", errors.New("database down"))
	if _, err := f.h.revoked(ctx, spSession("")); err == nil {
		t.Error("a failing store let the session through")
	}
}
