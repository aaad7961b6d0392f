package machines

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/ward-id/ward/internal/agentproto"
	"github.com/ward-id/ward/internal/clusters"
	"github.com/ward-id/ward/internal/directory"
	"github.com/ward-id/ward/internal/issuer"
	"github.com/ward-id/ward/internal/msi"
	"github.com/ward-id/ward/internal/resources"
	"github.com/ward-id/ward/internal/storage"
	"github.com/ward-id/ward/internal/wardtest"
)

const (
	tenant    = wardtest.TenantID
	sub       = wardtest.SubscriptionID
	publicURL = "https://ward.test:8443"
)

// clock is a controllable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	svc      *Service
	clusters *clusters.Service
	ids      *msi.Service
	clock    *clock
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	ctx := context.Background()
	st := wardtest.NewStore(t)
	clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
	groups := resources.New(resources.Config{Store: st, Now: clk.Now})
	ids := msi.New(msi.Config{Store: st, Now: clk.Now, Resources: groups})
	if _, _, err := groups.PutGroup(ctx, sub, "rg", resources.GroupSpec{Location: "westeurope"}); err != nil {
		t.Fatal(err)
	}
	dir := directory.New(directory.Config{Store: st, TenantID: tenant, Now: clk.Now})
	iss := issuer.New(issuer.Config{Store: st, KEK: make([]byte, 32), PublicURL: publicURL, TenantID: tenant, Now: clk.Now})
	cl := clusters.New(clusters.Config{Store: st, Groups: groups, Identities: ids, Directory: dir, Issuers: iss, TenantID: tenant, Now: clk.Now})
	svc := New(Config{Store: st, Groups: groups, Identities: ids, Directory: dir, Clusters: cl, Issuers: iss, TenantID: tenant, PublicURL: publicURL, Now: clk.Now})
	return fixture{svc: svc, clusters: cl, ids: ids, clock: clk}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// agentKey is what `ward agent join` makes: a P-256 key and a self-signed
// certificate of it.
type agentKey struct {
	key *ecdsa.PrivateKey
	der []byte
	x5t string
}

func newAgentKey(t *testing.T) agentKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ward-agent"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * 365 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	must(t, err)
	sum := sha256.Sum256(der)
	return agentKey{key: k, der: der, x5t: base64.RawURLEncoding.EncodeToString(sum[:])}
}

func (k agentKey) assertion(t *testing.T, machineID, aud string, now time.Time, life time.Duration) string {
	t.Helper()
	var signer crypto.Signer = k.key
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: signer}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("x5t#S256", k.x5t))
	must(t, err)
	tok, err := jwt.Signed(sig).Claims(jwt.Claims{Issuer: machineID, Subject: machineID, Audience: jwt.Audience{aud},
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(life)), ID: "x"}).Serialize()
	must(t, err)
	return tok
}

func joinRefused(t *testing.T, what string, err error, want string) {
	t.Helper()
	var je *JoinError
	if !errors.As(err, &je) || !strings.Contains(je.Reason, want) {
		t.Fatalf("%s: %v, want a join refusal saying %q", what, err, want)
	}
}

func attestRefused(t *testing.T, what string, err error, want string) {
	t.Helper()
	var ae *AttestationError
	if !errors.As(err, &ae) || !strings.Contains(ae.Reason, want) {
		t.Fatalf("%s: %v, want an attestation refusal saying %q", what, err, want)
	}
}

func TestJoinIsSingleUseAndExpires(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ref := storage.MachineRef{SubscriptionID: sub, ResourceGroup: "rg", Name: "m1"}
	m, created, jt, err := f.svc.Put(ctx, ref, Request{Location: "westeurope"})
	must(t, err)
	if !created || jt == nil || !m.Spec.HasSystem() || m.Spec.Joined() {
		t.Fatalf("created %v, token %v, machine %+v", created, jt, m.Spec)
	}
	k := newAgentKey(t)
	joinRefused(t, "malformed", mustFail(f.svc.Join(ctx, "nonsense", k.der)), "malformed")
	joinRefused(t, "wrong secret", mustFail(f.svc.Join(ctx, jt.Token+"x", k.der)), "not valid")

	// Eight agents race with the same token: exactly one joins.
	var wg sync.WaitGroup
	var mu sync.Mutex
	joined := 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := f.svc.Join(ctx, jt.Token, newAgentKey(t).der); err == nil {
				mu.Lock()
				joined++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if joined != 1 {
		t.Fatalf("%d joins with one token, want 1", joined)
	}
	joinRefused(t, "second use", mustFail(f.svc.Join(ctx, jt.Token, k.der)), "already used")

	// A reset revokes the key and issues a token; expired, it is refused.
	jt2, err := f.svc.ResetCredential(ctx, ref, time.Second)
	must(t, err)
	got, err := f.svc.Get(ctx, ref)
	must(t, err)
	if got.Spec.Joined() {
		t.Fatal("the reset kept the agent's key")
	}
	f.clock.Add(2 * time.Second)
	joinRefused(t, "expired", mustFail(f.svc.Join(ctx, jt2.Token, k.der)), "expired")
	jt3, err := f.svc.ResetCredential(ctx, ref, time.Minute)
	must(t, err)
	if _, err := f.svc.Join(ctx, jt3.Token, k.der); err != nil {
		t.Fatalf("fresh token: %v", err)
	}
}

func mustFail(_ Machine, err error) error { return err }

func TestAttestMachine(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ref := storage.MachineRef{SubscriptionID: sub, ResourceGroup: "rg", Name: "m1"}
	id, _, err := f.ids.PutIdentity(ctx, storage.IdentityRef{SubscriptionID: sub, ResourceGroup: "rg", Name: "app"}, msi.IdentitySpec{Location: "westeurope"})
	must(t, err)
	other, _, err := f.ids.PutIdentity(ctx, storage.IdentityRef{SubscriptionID: sub, ResourceGroup: "rg", Name: "other"}, msi.IdentitySpec{Location: "westeurope"})
	must(t, err)
	appID := "/subscriptions/" + sub + "/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app"
	m, _, jt, err := f.svc.Put(ctx, ref, Request{Identity: &IdentityRequest{Type: TypeSystemAndUserAssigned, UserAssigned: map[string]bool{appID: true}}})
	must(t, err)
	k := newAgentKey(t)
	_, err = f.svc.Join(ctx, jt.Token, k.der)
	must(t, err)
	aud := agentproto.MachineAudience(publicURL)
	now := f.clock.Now()

	subj, err := f.svc.Attest(ctx, k.assertion(t, m.ID, aud, now, 5*time.Minute))
	if err != nil || subj.Machine == nil || subj.Machine.ID != m.ID {
		t.Fatalf("attest: %+v %v", subj, err)
	}
	ids, _, err := f.svc.Identities(ctx, subj)
	must(t, err)
	if len(ids) != 2 || ids[0].Kind != "system" || !ids[0].Default || ids[1].ClientID != id.ClientID {
		t.Fatalf("identities: %+v", ids)
	}
	for _, c := range []struct{ clientID, objectID, resourceID, want string }{
		{"", "", "", m.Spec.SystemAppID},
		{id.ClientID, "", "", id.ClientID},
		{"", id.PrincipalID, "", id.ClientID},
		{"", "", strings.ToUpper(appID), id.ClientID},
	} {
		got, err := agentproto.Select(ids, c.clientID, c.objectID, c.resourceID)
		if err != nil || got.ClientID != c.want {
			t.Errorf("select %+v: %+v %v", c, got, err)
		}
	}
	if _, err := agentproto.Select(ids, other.ClientID, "", ""); !errors.Is(err, agentproto.ErrIdentityNotFound) {
		t.Errorf("another machine's identity: %v", err)
	}

	attestRefused(t, "wrong audience", mustSubj(f.svc.Attest(ctx, k.assertion(t, m.ID, "https://elsewhere", now, time.Minute))), "audience")
	attestRefused(t, "too long", mustSubj(f.svc.Attest(ctx, k.assertion(t, m.ID, aud, now, time.Hour))), "at most")
	attestRefused(t, "expired", mustSubj(f.svc.Attest(ctx, k.assertion(t, m.ID, aud, now.Add(-time.Hour), time.Minute))), "valid time range")
	attestRefused(t, "other key", mustSubj(f.svc.Attest(ctx, newAgentKey(t).assertion(t, m.ID, aud, now, time.Minute))), "not the key registered")
	forged := newAgentKey(t)
	forged.x5t = k.x5t
	attestRefused(t, "forged signature", mustSubj(f.svc.Attest(ctx, forged.assertion(t, m.ID, aud, now, time.Minute))), "signature")
	attestRefused(t, "no attestation", mustSubj(f.svc.Attest(ctx, "")), "no attestation")
	attestRefused(t, "unknown issuer", mustSubj(f.svc.Attest(ctx, k.assertion(t, "https://issuer.example", aud, now, time.Minute))), "neither")

	// A reset or a deletion refuses the key at once.
	_, err = f.svc.ResetCredential(ctx, ref, time.Minute)
	must(t, err)
	attestRefused(t, "after reset", mustSubj(f.svc.Attest(ctx, k.assertion(t, m.ID, aud, now, time.Minute))), "no registered agent key")
	if _, err := f.svc.Delete(ctx, ref); err != nil {
		t.Fatal(err)
	}
	attestRefused(t, "after delete", mustSubj(f.svc.Attest(ctx, k.assertion(t, m.ID, aud, now, time.Minute))), "does not exist")
}

func mustSubj(_ Subject, err error) error { return err }

func TestAttestNode(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	enabled := true
	cref := storage.ClusterRef{SubscriptionID: sub, ResourceGroup: "rg", Name: "c1"}
	c, _, err := f.clusters.Put(ctx, cref, clusters.Request{Location: "westeurope", OIDCIssuer: &enabled})
	must(t, err)
	token := func(ns, sa, aud string) string {
		tok, _, err := f.clusters.ServiceAccountToken(ctx, cref, clusters.TokenRequest{Namespace: ns, ServiceAccount: sa, Audience: aud})
		must(t, err)
		return tok
	}
	subj, err := f.svc.Attest(ctx, token("ward-system", "ward-agent", agentproto.NodeAudience))
	if err != nil || subj.Cluster == nil || subj.Pool != agentproto.DefaultPool || subj.Cluster.ID != c.ID {
		t.Fatalf("node attestation: %+v %v", subj, err)
	}
	ids, _, err := f.svc.Identities(ctx, subj)
	must(t, err)
	kubelet, err := f.clusters.Identity(ctx, c.Spec.KubeletIdentity)
	must(t, err)
	if len(ids) != 1 || ids[0].Kind != "kubelet" || !ids[0].Default || ids[0].ClientID != kubelet.ClientID {
		t.Fatalf("node identities: %+v", ids)
	}
	attestRefused(t, "another service account", mustSubj(f.svc.Attest(ctx, token("default", "app", agentproto.NodeAudience))), "not a Ward agent's")
	attestRefused(t, "workload audience", mustSubj(f.svc.Attest(ctx, token("ward-system", "ward-agent", "api://AzureADTokenExchange"))), "audience")
	attestRefused(t, "unknown pool", mustSubj(f.svc.Attest(ctx, token("ward-system", "ward-agent-gpu", agentproto.NodeAudience))), "no node pool 'gpu'")

	app, _, err := f.ids.PutIdentity(ctx, storage.IdentityRef{SubscriptionID: sub, ResourceGroup: "rg", Name: "gpu-app"}, msi.IdentitySpec{Location: "westeurope"})
	must(t, err)
	appID := "/subscriptions/" + sub + "/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/gpu-app"
	_, _, err = f.clusters.PutNodePool(ctx, cref, "gpu", clusters.PoolRequest{UserAssigned: []string{appID}})
	must(t, err)
	subj, err = f.svc.Attest(ctx, token("ward-system", "ward-agent-gpu", agentproto.NodeAudience))
	must(t, err)
	ids, _, err = f.svc.Identities(ctx, subj)
	must(t, err)
	if len(ids) != 2 || ids[1].ClientID != app.ClientID {
		t.Fatalf("gpu pool identities: %+v", ids)
	}
	// The default pool does not get the gpu pool's identity.
	subj, err = f.svc.Attest(ctx, token("ward-system", "ward-agent", agentproto.NodeAudience))
	must(t, err)
	if ids, _, _ := f.svc.Identities(ctx, subj); len(ids) != 1 {
		t.Fatalf("default pool identities: %+v", ids)
	}
	// A deleted identity stops being served.
	if _, err := f.ids.DeleteIdentity(ctx, storage.IdentityRef{SubscriptionID: sub, ResourceGroup: "rg", Name: "gpu-app"}); err != nil {
		t.Fatal(err)
	}
	subj, err = f.svc.Attest(ctx, token("ward-system", "ward-agent-gpu", agentproto.NodeAudience))
	must(t, err)
	if ids, _, _ := f.svc.Identities(ctx, subj); len(ids) != 1 {
		t.Fatalf("gpu pool identities after the identity's deletion: %+v", ids)
	}
	if _, err := f.clusters.Delete(ctx, cref); err != nil {
		t.Fatal(err)
	}
	attestRefused(t, "deleted cluster", mustSubj(f.svc.Attest(ctx, token2(t))), "")
}

// token2 is any well-formed JWT from an issuer Ward no longer hosts.
func token2(t *testing.T) string {
	t.Helper()
	k := newAgentKey(t)
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: k.key}, nil)
	must(t, err)
	tok, err := jwt.Signed(sig).Claims(jwt.Claims{Issuer: publicURL + "/oidc/" + tenant + "/00000000-0000-0000-0000-000000000001/", Subject: agentproto.NodeSubject("nodepool1"),
		Audience: jwt.Audience{agentproto.NodeAudience}, Expiry: jwt.NewNumericDate(time.Now().Add(time.Minute))}).Serialize()
	must(t, err)
	return tok
}

func TestNodeSubjects(t *testing.T) {
	if clusters.DefaultNodePool != agentproto.DefaultPool {
		t.Fatalf("clusters.DefaultNodePool %q != agentproto.DefaultPool %q", clusters.DefaultNodePool, agentproto.DefaultPool)
	}
	for _, c := range []struct {
		sub  string
		pool string
		ok   bool
	}{
		{"system:serviceaccount:ward-system:ward-agent", "nodepool1", true},
		{"system:serviceaccount:ward-system:ward-agent-gpu", "gpu", true},
		{"system:serviceaccount:ward-system:ward-agent-", "", false},
		{"system:serviceaccount:default:ward-agent", "", false},
		{"system:serviceaccount:ward-system:ward-agentx", "", false},
	} {
		pool, ok := agentproto.PoolFromSubject(c.sub)
		if pool != c.pool || ok != c.ok {
			t.Errorf("PoolFromSubject(%q) = %q, %v; want %q, %v", c.sub, pool, ok, c.pool, c.ok)
		}
		if ok && agentproto.NodeSubject(pool) != c.sub {
			t.Errorf("NodeSubject(%q) = %q, want %q", pool, agentproto.NodeSubject(pool), c.sub)
		}
	}
}
