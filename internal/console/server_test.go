package console_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/ward-id/ward/client"
	"github.com/ward-id/ward/internal/console"
	"github.com/ward-id/ward/internal/server"
	"github.com/ward-id/ward/internal/server/servertest"
)

// spWithSecrets creates a service principal with two client secrets through
// the directory API, as the admin.
func spWithSecrets(t *testing.T, srv *servertest.Server, admin, name string) (id, appID string, keys, secrets [2]string) {
	t.Helper()
	resp, b := srv.Do(t, "POST", "/v1.0/servicePrincipals", admin, strings.NewReader(`{"displayName":"`+name+`"}`))
	var sp struct{ ID, AppID string }
	if resp.StatusCode != 201 || json.Unmarshal(b, &sp) != nil {
		t.Fatalf("create %s: %d %s", name, resp.StatusCode, b)
	}
	for i := range keys {
		resp, b := srv.Do(t, "POST", "/v1.0/servicePrincipals/"+sp.ID+"/addPassword", admin, strings.NewReader(`{}`))
		var pw struct{ KeyID, SecretText string }
		if resp.StatusCode != 200 || json.Unmarshal(b, &pw) != nil {
			t.Fatalf("addPassword: %d %s", resp.StatusCode, b)
		}
		keys[i], secrets[i] = pw.KeyID, pw.SecretText
	}
	return sp.ID, sp.AppID, keys, secrets
}

// browser is a cookie-keeping client: the console as a browser uses it.
type browser struct {
	t    *testing.T
	srv  *servertest.Server
	http *http.Client
	csrf string
}

// signIn asks for a link with token, as `ward console` does, and opens it.
func signIn(t *testing.T, srv *servertest.Server, token string) (*browser, map[string]string) {
	t.Helper()
	resp, b := srv.Do(t, "POST", console.PathLinks, token, strings.NewReader(`{}`))
	var link map[string]string
	if resp.StatusCode != 201 || json.Unmarshal(b, &link) != nil {
		t.Fatalf("link: %d %s", resp.StatusCode, b)
	}
	jar, _ := cookiejar.New(nil)
	br := &browser{t: t, srv: srv, http: &http.Client{Transport: srv.HTTP.Transport, Jar: jar}}
	r, err := br.http.Get(link["url"])
	if err != nil || r.StatusCode != 200 {
		t.Fatalf("open the link: %v %v", err, r)
	}
	r.Body.Close()
	st, me := br.do("GET", "/console/api/me", "")
	if st != 200 {
		t.Fatalf("me after sign-in: %d %v", st, me)
	}
	br.csrf, _ = me["csrfToken"].(string)
	return br, link
}

func (br *browser) do(method, path, body string) (int, map[string]any) {
	br.t.Helper()
	req, _ := http.NewRequest(method, br.srv.URL+path, strings.NewReader(body))
	if br.csrf != "" {
		req.Header.Set(console.HeaderCSRF, br.csrf)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := br.http.Do(req)
	if err != nil {
		br.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// TestConsoleSessionFollowsItsCredential drives the real server: a session
// opened with a ten-minute token ends with it (not eight hours later); its
// cookie cannot make links (it could renew itself forever); removing
// another secret of its principal leaves it, removing the secret its token
// came from ends it at once, and so does deleting its principal — for every
// route, the fix route's write included.
func TestConsoleSessionFollowsItsCredential(t *testing.T) {
	srv := servertest.Start(t, func(c *server.Config) { c.AppTokenLifetime = 10 * time.Minute })
	admin := srv.Token(t, srv.URL)
	ctx := context.Background()
	id, appID, keys, secrets := spWithSecrets(t, srv, admin, "console-user")
	creds := &client.ClientCredentials{AuthorityHost: srv.Admin.AuthorityHost, TenantID: srv.Admin.TenantID, ClientID: appID, ClientSecret: secrets[0],
		Resource: srv.URL, HTTP: srv.HTTP}
	tok, err := creds.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	br, link := signIn(t, srv, tok.AccessToken)

	st, me := br.do("GET", "/console/api/me", "")
	ends, err := time.Parse(time.RFC3339, me["expiresOn"].(string))
	if st != 200 || err != nil || ends.After(tok.ExpiresOn.Add(time.Second)) {
		t.Errorf("a session from a token expiring at %v ends at %v (%v)", tok.ExpiresOn, me["expiresOn"], err)
	}
	if le, _ := time.Parse(time.RFC3339, link["sessionExpiresOn"]); le.After(tok.ExpiresOn.Add(time.Second)) {
		t.Errorf("the link promises a session until %s", link["sessionExpiresOn"])
	}

	if st, b := br.do("POST", console.PathLinks, `{}`); st != 401 || b["error"].(map[string]any)["code"] != "BearerTokenRequired" {
		t.Errorf("a session made a link: %d %v", st, b)
	}

	remove := func(key string) {
		t.Helper()
		resp, b := srv.Do(t, "POST", "/v1.0/servicePrincipals/"+id+"/removePassword", admin, strings.NewReader(`{"keyId":"`+key+`"}`))
		if resp.StatusCode != 204 && resp.StatusCode != 200 {
			t.Fatalf("removePassword: %d %s", resp.StatusCode, b)
		}
	}
	remove(keys[1])
	if st, b := br.do("GET", "/console/api/me", ""); st != 200 {
		t.Errorf("removing another secret ended the session: %d %v", st, b)
	}
	remove(keys[0])
	fix := `{"identity":"/subscriptions/` + srv.Admin.SubscriptionID + `/resourceGroups/x/providers/Microsoft.ManagedIdentity/userAssignedIdentities/y","name":"n","issuer":"https://i.example","subject":"s"}`
	for _, r := range []struct{ method, path, body string }{{"GET", "/console/api/me", ""}, {"POST", "/console/api/fix/federated-credential", fix}, {"GET", "/console/api/explorer", ""}} {
		st, b := br.do(r.method, r.path, r.body)
		if st != 401 {
			t.Errorf("%s %s after the session's secret was removed: %d %v", r.method, r.path, st, b)
		}
	}

	// A session whose principal is deleted.
	id2, appID2, _, secrets2 := spWithSecrets(t, srv, admin, "console-user-2")
	creds2 := &client.ClientCredentials{AuthorityHost: srv.Admin.AuthorityHost, TenantID: srv.Admin.TenantID, ClientID: appID2, ClientSecret: secrets2[0],
		Resource: srv.URL, HTTP: srv.HTTP}
	tok2, err := creds2.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	br2, _ := signIn(t, srv, tok2)
	if resp, b := srv.Do(t, "DELETE", "/v1.0/servicePrincipals/"+id2, admin, nil); resp.StatusCode != 204 {
		t.Fatalf("delete: %d %s", resp.StatusCode, b)
	}
	if st, b := br2.do("GET", "/console/api/me", ""); st != 401 || b["error"].(map[string]any)["code"] != "SessionEnded" {
		t.Errorf("a deleted principal's session: %d %v", st, b)
	}
}

// TestConsoleQuotaPerPrincipal: a principal with no role that signs in
// over and over holds at most its quota of sessions (its own oldest goes
// first) and cannot sign anyone else out.
func TestConsoleQuotaPerPrincipal(t *testing.T) {
	srv := servertest.Start(t)
	admin := srv.Token(t, srv.URL)
	adminBrowser, _ := signIn(t, srv, admin)
	_, appID, _, secrets := spWithSecrets(t, srv, admin, "no-role")
	tok, err := (&client.ClientCredentials{AuthorityHost: srv.Admin.AuthorityHost, TenantID: srv.Admin.TenantID, ClientID: appID, ClientSecret: secrets[0],
		Resource: srv.URL, HTTP: srv.HTTP}).Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var mine []*browser
	for i := 0; i < 3*console.MaxSessionsPerPrincipal; i++ {
		br, _ := signIn(t, srv, tok)
		mine = append(mine, br)
	}
	live := 0
	for i, br := range mine {
		st, _ := br.do("GET", "/console/api/me", "")
		if st == 200 {
			live++
		} else if i >= len(mine)-console.MaxSessionsPerPrincipal {
			t.Errorf("session %d, one of the newest, ended: %d", i, st)
		}
	}
	if live != console.MaxSessionsPerPrincipal {
		t.Errorf("the principal holds %d live sessions, want its quota of %d", live, console.MaxSessionsPerPrincipal)
	}
	if st, b := adminBrowser.do("GET", "/console/api/me", ""); st != 200 {
		t.Errorf("the admin's session: %d %v", st, b)
	}
}

// TestConsoleSignInStreamStops: the live sign-in stream, a request that
// lasts minutes, stops soon after the session's secret is removed instead
// of streaming the tenant's sign-ins until its maxSeconds.
func TestConsoleSignInStreamStops(t *testing.T) {
	srv := servertest.Start(t)
	admin := srv.Token(t, srv.URL)
	id, appID, keys, secrets := spWithSecrets(t, srv, admin, "log-reader")
	body := `{"properties":{"roleDefinitionId":"/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635","principalId":"` + id + `"}}`
	if resp, b := srv.Do(t, "PUT", "/providers/Microsoft.Authorization/roleAssignments/"+uuid.NewString()+"?api-version=2022-04-01", admin, strings.NewReader(body)); resp.StatusCode != 201 {
		t.Fatalf("Owner at /: %d %s", resp.StatusCode, b)
	}
	tok, err := (&client.ClientCredentials{AuthorityHost: srv.Admin.AuthorityHost, TenantID: srv.Admin.TenantID, ClientID: appID, ClientSecret: secrets[0],
		Resource: srv.URL, HTTP: srv.HTTP}).Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	br, _ := signIn(t, srv, tok)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/console/api/signins/stream?maxSeconds=60", nil)
	resp, err := br.http.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("stream: %v %v", err, resp)
	}
	defer resp.Body.Close()
	ended := make(chan time.Time, 1)
	go func() {
		_, _ = io.Copy(io.Discard, resp.Body)
		ended <- time.Now()
	}()
	time.Sleep(500 * time.Millisecond)
	removed := time.Now()
	if resp, b := srv.Do(t, "POST", "/v1.0/servicePrincipals/"+id+"/removePassword", admin, strings.NewReader(`{"keyId":"`+keys[0]+`"}`)); resp.StatusCode != 204 {
		t.Fatalf("removePassword: %d %s", resp.StatusCode, b)
	}
	select {
	case at := <-ended:
		if d := at.Sub(removed); d > 5*time.Second {
			t.Errorf("the stream ended %v after the secret's removal", d)
		}
	case <-time.After(10 * time.Second):
		t.Error("the stream still runs 10 s after the session's secret was removed")
	}
}
