package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ward-id/ward/internal/postgrestest"
)

// propagation polls check until it returns true and reports how long that
// took; it fails the test past the 2 s bound.
func propagation(t *testing.T, what string, check func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		if check() {
			return time.Since(start)
		}
		if time.Since(start) > 2*time.Second {
			t.Fatalf("%s: not enforced after %v", what, time.Since(start))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startReplicas starts n replicas of ward serve on one PostgreSQL. Each
// replica gets its own data directory holding only the KEK.
func startReplicas(t *testing.T, dsn, kek string, n int) []*ward {
	t.Helper()
	if err := os.WriteFile(kek, []byte("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := make([]*ward, n)
	errs := make(chan error, n)
	// Replicas behind one load balancer share one public URL: here the
	// first replica's address.
	addrs := make([]string, n)
	for i := range addrs {
		addrs[i] = freeAddr(t)
	}
	publicURL := "https://" + addrs[0]
	for i := range out {
		dir := filepath.Join(t.TempDir(), fmt.Sprintf("replica-%d", i))
		go func(i int) {
			defer func() {
				if v := recover(); v != nil {
					errs <- fmt.Errorf("%v", v)
					return
				}
				errs <- nil
			}()
			out[i] = startWard(t, dir, "--addr", addrs[i], "--public-url", publicURL, "--storage", "postgres", "--dsn", dsn, "--kek-file", kek)
		}(i)
	}
	for range out {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestReplicasAgree: three replicas on one PostgreSQL, started at the same
// moment on an empty database, bootstrap one tenant, admin and CA; a change
// made through one is enforced by the others within the bound (grant and
// revocation of a role assignment, federated credential creation and
// deletion, identity deletion, secret reset, vault creation and deletion); a replica killed mid-write
// and a PostgreSQL restart lose no acknowledged write, and every replica
// converges.
func TestReplicasAgree(t *testing.T) {
	t.Parallel()
	skipIfShort(t, "starts several replicas")
	pg := postgrestest.StartServer(t)
	kek := filepath.Join(t.TempDir(), "kek")
	rs := startReplicas(t, pg.DSN, kek, 3)
	a, b, c := rs[0], rs[1], rs[2]
	for _, r := range rs[1:] {
		if r.admin.ClientID != a.admin.ClientID || r.admin.TenantID != a.admin.TenantID || r.admin.SubscriptionID != a.admin.SubscriptionID {
			t.Fatalf("replicas bootstrapped different admins: %+v vs %+v", r.admin, a.admin)
		}
		ca1, _ := os.ReadFile(filepath.Join(a.dataDir, "ca.pem"))
		ca2, _ := os.ReadFile(filepath.Join(r.dataDir, "ca.pem"))
		if string(ca1) != string(ca2) || len(ca1) == 0 {
			t.Fatal("replicas serve with different CAs")
		}
	}
	// Any operator with the DSN and the KEK recovers admin.json.
	out, err := exec.Command(wardBin, "admin", "export", "--storage", "postgres", "--dsn", pg.DSN, "--kek-file", kek).Output()
	if err != nil || !strings.Contains(string(out), a.admin.ClientSecret) {
		t.Fatalf("ward admin export: %v\n%s", err, out)
	}
	// Every replica trusts the one CA: a's client talks to b and c.
	for _, r := range rs {
		r.http = a.http
	}
	sub := "/subscriptions/" + a.admin.SubscriptionID
	rg := sub + "/resourceGroups/repl"
	if st, body, _ := a.request("PUT", rg+"?api-version=2021-04-01", `{"location":"westeurope"}`); st != 201 {
		t.Fatalf("group: %d %v", st, body)
	}
	p := a.newPrincipal(t, "replica-reader")
	var lags []time.Duration
	note := func(d time.Duration) { lags = append(lags, d) }
	for round := 0; round < 5; round++ {
		// Grant through a; enforced by b and c.
		id := a.assign(t, p.ObjectID, rg, readerRole)
		for _, r := range []*ward{b, c} {
			tok := r.tokenFor(t, p, "https://management.azure.com/.default")
			note(propagation(t, "grant on "+r.addr, func() bool {
				st, _ := r.raw(t, tok, "GET", "", rg+"?api-version=2021-04-01", "")
				return st == 200
			}))
		}
		// Revoke through a; refused by b and c.
		if st, body, _ := a.request("DELETE", rg+"/providers/Microsoft.Authorization/roleAssignments/"+id+"?api-version=2022-04-01", ""); st != 200 {
			t.Fatalf("revoke: %d %v", st, body)
		}
		for _, r := range []*ward{b, c} {
			tok := r.tokenFor(t, p, "https://management.azure.com/.default")
			note(propagation(t, "revocation on "+r.addr, func() bool {
				st, _ := r.raw(t, tok, "GET", "", rg+"?api-version=2021-04-01", "")
				return st == 403
			}))
		}
	}

	// Federated credential and identity, with a hosted cluster issuer.
	cluster := rg + "/providers/Microsoft.ContainerService/managedClusters/repl?api-version=2024-05-01"
	st, cl, _ := a.request("PUT", cluster, `{"location":"westeurope","properties":{"oidcIssuerProfile":{"enabled":true}}}`)
	if st != 201 {
		t.Fatalf("cluster: %d %v", st, cl)
	}
	issuer := cl["properties"].(map[string]any)["oidcIssuerProfile"].(map[string]any)["issuerURL"].(string)
	const subject = "system:serviceaccount:repl:app"
	st, tokBody, _ := a.request("POST", rg+"/providers/Microsoft.ContainerService/managedClusters/repl/getServiceAccountToken?api-version=2024-05-01",
		`{"namespace":"repl","serviceAccount":"app","audience":"api://AzureADTokenExchange"}`)
	if st != 200 {
		t.Fatalf("sa token: %d %v", st, tokBody)
	}
	saToken := tokBody["token"].(string)
	identity := rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/repl-id"
	st, idBody, _ := a.request("PUT", identity+"?api-version=2023-01-31", `{"location":"westeurope"}`)
	if st != 201 {
		t.Fatalf("identity: %d %v", st, idBody)
	}
	clientID := idBody["properties"].(map[string]any)["clientId"].(string)
	exchangeOn := func(r *ward) int {
		st, _ := postToken(t, r, r.admin.TenantID, url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {saToken},
			"scope": {"https://management.azure.com/.default"}})
		return st
	}
	for _, r := range []*ward{b, c} {
		if st := exchangeOn(r); st == 200 {
			t.Fatal("exchange succeeded before the federated credential existed")
		}
	}
	fic := identity + "/federatedIdentityCredentials/repl-fic?api-version=2023-01-31"
	if st, body, _ := a.request("PUT", fic, `{"properties":{"issuer":"`+issuer+`","subject":"`+subject+`","audiences":["api://AzureADTokenExchange"]}}`); st != 201 {
		t.Fatalf("fic: %d %v", st, body)
	}
	for _, r := range []*ward{b, c} {
		note(propagation(t, "federated credential on "+r.addr, func() bool { return exchangeOn(r) == 200 }))
	}
	// Token reuse: the same exchange twice gets the same token; the
	// credential is still verified each time (below, a deletion is refused
	// at once on every replica even though a token is cached).
	tokenOn := func(r *ward) string {
		st, body := postToken(t, r, r.admin.TenantID, url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {saToken},
			"scope": {"https://management.azure.com/.default"}})
		if st != 200 {
			t.Fatalf("exchange: %d %v", st, body)
		}
		return body["access_token"].(string)
	}
	if t1, t2 := tokenOn(b), tokenOn(b); t1 != t2 {
		t.Error("the same exchange twice minted two tokens: no reuse")
	}
	if st, body, _ := a.request("DELETE", fic, ""); st != 200 {
		t.Fatalf("delete fic: %d %v", st, body)
	}
	for _, r := range []*ward{b, c} {
		note(propagation(t, "federated credential deletion on "+r.addr, func() bool { return exchangeOn(r) != 200 }))
	}
	if st, body, _ := a.request("PUT", fic, `{"properties":{"issuer":"`+issuer+`","subject":"`+subject+`","audiences":["api://AzureADTokenExchange"]}}`); st != 201 {
		t.Fatalf("fic again: %d %v", st, body)
	}
	for _, r := range []*ward{b, c} {
		propagation(t, "federated credential again on "+r.addr, func() bool { return exchangeOn(r) == 200 })
	}
	if st, body, _ := a.request("DELETE", identity+"?api-version=2023-01-31", ""); st != 200 {
		t.Fatalf("delete identity: %d %v", st, body)
	}
	for _, r := range []*ward{b, c} {
		note(propagation(t, "identity deletion on "+r.addr, func() bool { return exchangeOn(r) != 200 }))
	}

	// Secret reset: a new secret works everywhere at once, the removed one
	// nowhere.
	graph := a.graphToken(t)
	st, pw := a.raw(t, graph, "POST", "", "/v1.0/servicePrincipals/"+p.ObjectID+"/addPassword", `{}`)
	if st != 200 {
		t.Fatalf("addPassword: %d %v", st, pw)
	}
	fresh := principal{ObjectID: p.ObjectID, AppID: p.AppID, Secret: pw["secretText"].(string)}
	st, sp := a.raw(t, graph, "GET", "", "/v1.0/servicePrincipals/"+p.ObjectID, "")
	if st != 200 {
		t.Fatal(sp)
	}
	for _, cred := range sp["passwordCredentials"].([]any) {
		if k := cred.(map[string]any)["keyId"].(string); k != pw["keyId"] {
			if st, body := a.raw(t, graph, "POST", "", "/v1.0/servicePrincipals/"+p.ObjectID+"/removePassword", `{"keyId":"`+k+`"}`); st != 204 {
				t.Fatalf("removePassword: %d %v", st, body)
			}
		}
	}
	for _, r := range []*ward{b, c} {
		_ = r.tokenFor(t, fresh, "https://management.azure.com/.default")
		note(propagation(t, "old secret refused on "+r.addr, func() bool {
			st, _ := postToken(t, r, r.admin.TenantID, url.Values{"grant_type": {"client_credentials"}, "client_id": {p.AppID},
				"client_secret": {p.Secret}, "scope": {"https://management.azure.com/.default"}})
			return st == 401 || st == 400
		}))
	}
	// A vault created through a serves on b and c; deleted through a, it is
	// gone on b and c (VaultNotFound, not a stale vault without secrets),
	// although their data planes had it cached.
	vaultPath := rg + "/providers/Microsoft.KeyVault/vaults/replkv?api-version=2023-07-01"
	if st, body, _ := a.request("PUT", vaultPath, `{"location":"westeurope","properties":{"tenantId":"`+a.admin.TenantID+`","sku":{"family":"A","name":"standard"}}}`); st != 201 {
		t.Fatalf("create vault: %d %v", st, body)
	}
	_, port, _ := net.SplitHostPort(a.addr)
	kvHost := "replkv.vault.localhost:" + port
	kvToken := func(r *ward) string {
		return r.tokenFor(t, principal{AppID: r.admin.ClientID, Secret: r.admin.ClientSecret}, "https://vault.azure.net/.default")
	}
	if st, body := a.raw(t, kvToken(a), "PUT", kvHost, "/secrets/s?api-version=7.4", `{"value":"v"}`); st != 200 {
		t.Fatalf("set secret: %d %v", st, body)
	}
	for _, r := range []*ward{b, c} {
		tok := kvToken(r)
		note(propagation(t, "vault creation on "+r.addr, func() bool {
			st, _ := r.raw(t, tok, "GET", kvHost, "/secrets/s?api-version=7.4", "")
			return st == 200
		}))
	}
	if st, body, _ := a.request("DELETE", vaultPath, ""); st != 200 {
		t.Fatalf("delete vault: %d %v", st, body)
	}
	for _, r := range []*ward{b, c} {
		tok := kvToken(r)
		note(propagation(t, "vault deletion on "+r.addr, func() bool {
			st, body := r.raw(t, tok, "GET", kvHost, "/secrets/s?api-version=7.4", "")
			e, _ := body["error"].(map[string]any)
			return st == 404 && e["code"] == "VaultNotFound"
		}))
	}

	sort.Slice(lags, func(i, j int) bool { return lags[i] < lags[j] })
	t.Logf("propagation over %d changes: median %v, p99 %v, max %v", len(lags), lags[len(lags)/2], lags[len(lags)*99/100], lags[len(lags)-1])
	if p99 := lags[len(lags)*99/100]; p99 > time.Second {
		t.Errorf("propagation p99 %v exceeds 1 s", p99)
	}

	// Kill b with SIGKILL while it acknowledges writes; restart PostgreSQL.
	acked := make(chan string, 1000)
	done := make(chan struct{})
	tokB := b.adminTokenNoFail()
	go func() {
		defer close(done)
		for i := 0; i < 200; i++ {
			name := fmt.Sprintf("w-%03d", i)
			req := rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/" + name + "?api-version=2023-01-31"
			st, _ := b.rawNoFail(tokB, "PUT", req, `{"location":"westeurope"}`)
			if st == 0 {
				return // b is gone
			}
			if st == 201 {
				acked <- name
			}
		}
	}()
	time.Sleep(300 * time.Millisecond)
	b.kill9()
	<-done
	close(acked)
	pg.Restart(t)
	b2 := startWard(t, b.dataDir, "--addr", b.addr, "--public-url", "https://"+a.addr, "--storage", "postgres", "--dsn", pg.DSN, "--kek-file", kek)
	b2.http = a.http
	n := 0
	for name := range acked {
		n++
		for _, r := range []*ward{a, b2, c} {
			r.token = ""
			ok := false
			for try := 0; try < 50 && !ok; try++ {
				st, _ := r.rawNoFail(r.adminTokenNoFail(), "GET", rg+"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/"+name+"?api-version=2023-01-31", "")
				ok = st == 200
				if !ok {
					time.Sleep(100 * time.Millisecond)
				}
			}
			if !ok {
				t.Fatalf("acknowledged write %s is missing on %s after the crash and the database restart", name, r.addr)
			}
		}
	}
	t.Logf("%d writes acknowledged before SIGKILL; all present on every replica after a PostgreSQL restart", n)
	// Every replica converges after the restart: a new grant is seen by all.
	a.assign(t, p.ObjectID, rg, readerRole)
	for _, r := range []*ward{a, b2, c} {
		tok := r.tokenFor(t, fresh, "https://management.azure.com/.default")
		propagation(t, "grant after the restart on "+r.addr, func() bool {
			st, _ := r.raw(t, tok, "GET", "", rg+"?api-version=2021-04-01", "")
			return st == 200
		})
	}
}

// rawNoFail is raw for goroutines and dying servers: status 0 on any error.
func (w *ward) rawNoFail(token, method, path, body string) (int, map[string]any) {
	req, err := http.NewRequest(method, w.base+path, strings.NewReader(body))
	if err != nil {
		return 0, nil
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := w.http.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// adminTokenNoFail is a management token for the admin, or "" on error.
func (w *ward) adminTokenNoFail() string {
	resp, err := w.http.PostForm(w.base+"/"+w.admin.TenantID+"/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {w.admin.ClientID}, "client_secret": {w.admin.ClientSecret}, "scope": {"https://management.azure.com/.default"}})
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	tok, _ := body["access_token"].(string)
	return tok
}
