package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ward-id/ward/internal/agentproto"
)

// fakeWard is Ward's agent API with canned identities, counting token
// requests; revoke makes it refuse the attestation as Ward does for a
// deleted machine.
type fakeWard struct {
	mu         sync.Mutex
	identities []agentproto.Identity
	revoked    bool
	tokens     atomic.Int32
	lifetime   time.Duration
}

func (f *fakeWard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	ids, revoked := f.identities, f.revoked
	f.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer attestation" || revoked {
		w.WriteHeader(http.StatusUnauthorized)
		_ = json.NewEncoder(w).Encode(agentproto.Error{Code: agentproto.CodeUnauthorized, Description: "machine deleted"})
		return
	}
	switch r.URL.Path {
	case agentproto.PathState:
		b, _ := json.Marshal(agentproto.State{Kind: "machine", ResourceID: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.HybridCompute/machines/m1",
			Name: "m1", Location: "westeurope", SubscriptionID: "s", ResourceGroup: "rg", Tags: map[string]string{"env": "lab", "team": "a"}, Identities: ids})
		etag := fmt.Sprintf(`"%x"`, len(b)+len(ids))
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_, _ = w.Write(b)
	case agentproto.PathToken:
		var req agentproto.TokenRequest
		_ = json.NewDecoder(r.Body).Decode(&req)
		id, err := agentproto.Select(ids, req.ClientID, req.ObjectID, req.ResourceID)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(agentproto.Error{Code: agentproto.CodeIdentityNotFound, Description: "Identity not found"})
			return
		}
		n := f.tokens.Add(1)
		life := f.lifetime
		if life == 0 {
			life = 24 * time.Hour
		}
		now := time.Now().Truncate(time.Second)
		_ = json.NewEncoder(w).Encode(agentproto.TokenResponse{AccessToken: fmt.Sprintf("token-%d-%s-%s", n, id.ClientID, req.Resource),
			ExpiresOn: now.Add(life).Unix(), NotBefore: now.Unix(), Resource: req.Resource, Identity: id})
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeWard) set(ids []agentproto.Identity, revoked bool) {
	f.mu.Lock()
	f.identities, f.revoked = ids, revoked
	f.mu.Unlock()
}

type staticAttestor string

func (s staticAttestor) Attestation(context.Context) (string, error) { return string(s), nil }

var (
	sysID  = agentproto.Identity{Kind: "system", ClientID: "11111111-0000-0000-0000-000000000001", ObjectID: "11111111-0000-0000-0000-0000000000a1", Default: true}
	userID = agentproto.Identity{Kind: "user", ClientID: "22222222-0000-0000-0000-000000000002", ObjectID: "22222222-0000-0000-0000-0000000000b2",
		ResourceID: "/subscriptions/s/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app"}
)

type harness struct {
	ward   *fakeWard
	agent  *Agent
	server *Server
}

func newHarness(t testing.TB, cfg ServerConfig) harness {
	t.Helper()
	fw := &fakeWard{identities: []agentproto.Identity{sysID, userID}}
	ts := httptest.NewServer(fw)
	t.Cleanup(ts.Close)
	wc, err := NewWardClient(ts.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := New(Config{Ward: wc, Attestor: staticAttestor("attestation"), PollInterval: 20 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := a.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if cfg.ArcTokenDir == "" {
		cfg.ArcTokenDir = t.TempDir()
	}
	if cfg.ArcTokenGID == 0 {
		cfg.ArcTokenGID = -1
	}
	return harness{ward: fw, agent: a, server: NewServer(a, cfg)}
}

// get sends a request as a client of IMDS on this machine would: Host
// 169.254.169.254, arriving at 169.254.169.254:80.
func get(h http.Handler, path string, hdr ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, path, nil)
	r.RemoteAddr = "127.0.0.1:40000"
	r.Host = IMDSAddress
	r = r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, &net.TCPAddr{IP: net.ParseIP(IMDSAddress), Port: 80}))
	for i := 0; i+1 < len(hdr); i += 2 {
		switch hdr[i] {
		case "RemoteAddr":
			r.RemoteAddr = hdr[i+1]
			continue
		case "Host":
			r.Host = hdr[i+1]
			continue
		}
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func body(t *testing.T, w *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatalf("body %q: %v", w.Body.String(), err)
	}
	return m
}

const tokenPath = "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com%2F"

func TestIMDSWire(t *testing.T) {
	h := newHarness(t, ServerConfig{RateLimit: -1, MaxConcurrent: -1})
	imds := h.server.IMDSHandler()
	for _, c := range []struct {
		name, path string
		hdr        []string
		status     int
		code       string
		clientID   string
		echo       map[string]string
	}{
		{name: "system, no selector", path: tokenPath, hdr: []string{"Metadata", "true"}, status: 200, clientID: sysID.ClientID},
		{name: "trailing slash", path: strings.Replace(tokenPath, "token?", "token/?", 1), hdr: []string{"Metadata", "true"}, status: 200, clientID: sysID.ClientID},
		{name: "client_id", path: tokenPath + "&client_id=" + userID.ClientID, hdr: []string{"Metadata", "true"}, status: 200, clientID: userID.ClientID},
		{name: "object_id echoed", path: tokenPath + "&object_id=" + userID.ObjectID, hdr: []string{"Metadata", "true"}, status: 200, clientID: userID.ClientID,
			echo: map[string]string{"object_id": userID.ObjectID}},
		{name: "msi_res_id echoed", path: tokenPath + "&msi_res_id=" + url.QueryEscape(userID.ResourceID), hdr: []string{"Metadata", "true"}, status: 200, clientID: userID.ClientID,
			echo: map[string]string{"msi_res_id": userID.ResourceID}},
		{name: "no Metadata (the DefaultAzureCredential probe)", path: "/metadata/identity/oauth2/token", status: 400, code: "bad_request_102"},
		{name: "Metadata: True is not true", path: tokenPath, hdr: []string{"Metadata", "True"}, status: 400, code: "bad_request_102"},
		{name: "X-Forwarded-For", path: tokenPath, hdr: []string{"Metadata", "true", "X-Forwarded-For", "10.0.0.1"}, status: 400, code: "invalid_request"},
		{name: "foreign identity", path: tokenPath + "&client_id=33333333-0000-0000-0000-000000000003", hdr: []string{"Metadata", "true"}, status: 400, code: "invalid_request"},
		{name: "two selectors", path: tokenPath + "&client_id=" + userID.ClientID + "&object_id=" + userID.ObjectID, hdr: []string{"Metadata", "true"}, status: 400, code: "invalid_request"},
		{name: "no resource", path: "/metadata/identity/oauth2/token?api-version=2018-02-01", hdr: []string{"Metadata", "true"}, status: 400, code: "invalid_request"},
		{name: "no api-version", path: "/metadata/identity/oauth2/token?resource=x", hdr: []string{"Metadata", "true"}, status: 400, code: "invalid_request"},
		{name: "unknown path", path: "/metadata/identity/other", hdr: []string{"Metadata", "true"}, status: 404, code: "not_found"},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := get(imds, c.path, c.hdr...)
			if w.Code != c.status {
				t.Fatalf("status %d, want %d: %s", w.Code, c.status, w.Body)
			}
			m := body(t, w)
			if c.status != 200 {
				if m["error"] != c.code || m["error_description"] == "" {
					t.Fatalf("error body %v, want error %q", m, c.code)
				}
				return
			}
			for _, k := range []string{"access_token", "client_id", "expires_in", "expires_on", "ext_expires_in", "not_before", "resource", "token_type"} {
				if _, ok := m[k].(string); !ok {
					t.Errorf("%s is %T (%v), want a string", k, m[k], m[k])
				}
			}
			if m["client_id"] != c.clientID || m["token_type"] != "Bearer" || m["resource"] != "https://management.azure.com/" {
				t.Errorf("token %v, want client %s", m, c.clientID)
			}
			for k, v := range c.echo {
				if m[k] != v {
					t.Errorf("%s = %v, want the selector echoed (%s)", k, m[k], v)
				}
			}
		})
	}
	if n := h.ward.tokens.Load(); n != 2 {
		t.Errorf("ward minted %d tokens for 2 (identity, resource) pairs: the cache should serve the rest", n)
	}
	w := get(imds, "/metadata/instance?api-version=2021-02-01", "Metadata", "true")
	m := body(t, w)
	compute, _ := m["compute"].(map[string]any)
	if w.Code != 200 || compute["name"] != "m1" || compute["tags"] != "env:lab;team:a" || compute["resourceGroupName"] != "rg" {
		t.Fatalf("instance metadata: %d %v", w.Code, m)
	}
	if w := get(imds, "/metadata/instance"); w.Code != 400 {
		t.Fatalf("instance metadata without Metadata: %d", w.Code)
	}
}

func TestAmbiguousWithoutSystemIdentity(t *testing.T) {
	h := newHarness(t, ServerConfig{RateLimit: -1, MaxConcurrent: -1})
	two := userID
	two.ClientID, two.ObjectID, two.ResourceID = "44444444-0000-0000-0000-000000000004", "44444444-0000-0000-0000-0000000000d4", "/x/two"
	h.ward.set([]agentproto.Identity{userID, two}, false)
	must(t, h.agent.Refresh(context.Background()))
	w := get(h.server.IMDSHandler(), tokenPath, "Metadata", "true")
	if w.Code != 400 || !strings.Contains(w.Body.String(), "Multiple user assigned identities") {
		t.Fatalf("no selector, two user-assigned identities: %d %s", w.Code, w.Body)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestAppServiceWire(t *testing.T) {
	h := newHarness(t, ServerConfig{RateLimit: -1, MaxConcurrent: -1, AppServiceSecret: "s3cret"})
	as := h.server.AppServiceHandler()
	path := "/msi/token?api-version=2019-08-01&resource=https://vault.azure.net"
	if w := get(as, path); w.Code != 401 {
		t.Fatalf("no X-IDENTITY-HEADER: %d", w.Code)
	}
	if w := get(as, path, "X-IDENTITY-HEADER", "wrong"); w.Code != 401 {
		t.Fatalf("wrong X-IDENTITY-HEADER: %d", w.Code)
	}
	w := get(as, path+"&mi_res_id="+url.QueryEscape(userID.ResourceID), "X-IDENTITY-HEADER", "s3cret")
	m := body(t, w)
	if w.Code != 200 || m["client_id"] != userID.ClientID || m["token_type"] != "Bearer" || m["resource"] != "https://vault.azure.net" || m["mi_res_id"] != userID.ResourceID {
		t.Fatalf("app service token: %d %v", w.Code, m)
	}
	if _, ok := m["expires_on"].(string); !ok {
		t.Fatalf("expires_on %T, want a string", m["expires_on"])
	}
}

// TestAppService2017Wire: the older App Service protocol az 2.45
// (msrestazure, with MSI_ENDPOINT, MSI_SECRET and
// APPSETTING_WEBSITE_SITE_NAME set) and Azure ML clients speak: the secret
// in the "secret" header, "clientid", expires_on as a date.
func TestAppService2017Wire(t *testing.T) {
	h := newHarness(t, ServerConfig{RateLimit: -1, MaxConcurrent: -1, AppServiceSecret: "s3cret"})
	as := h.server.AppServiceHandler()
	// msrestazure appends "/?resource=..." to MSI_ENDPOINT.
	path := "/msi/token/?resource=https://management.core.windows.net/&api-version=2017-09-01"
	cases := []struct {
		name, path string
		hdr        []string
		want       int
	}{
		{"no secret", path, nil, 401},
		{"wrong secret", path, []string{"secret", "wrong"}, 401},
		{"the 2019 header does not do for 2017", path, []string{"X-IDENTITY-HEADER", "s3cret"}, 401},
		{"the 2017 header does not do for 2019", strings.Replace(path, "2017-09-01", "2019-08-01", 1), []string{"secret", "s3cret"}, 401},
		{"system-assigned", path, []string{"secret", "s3cret"}, 200},
		{"by clientid", path + "&clientid=" + userID.ClientID, []string{"secret", "s3cret"}, 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := get(as, tc.path, tc.hdr...)
			if w.Code != tc.want {
				t.Fatalf("GET %s = %d %s, want %d", tc.path, w.Code, w.Body, tc.want)
			}
			if tc.want != 200 {
				return
			}
			m := body(t, w)
			exp, err := time.Parse("01/02/2006 15:04:05 -07:00", fmt.Sprint(m["expires_on"]))
			if err != nil || exp.Before(time.Now()) || m["token_type"] != "Bearer" || m["access_token"] == "" || m["resource"] != "https://management.core.windows.net/" {
				t.Fatalf("2017 token = %v (expires_on: %v)", m, err)
			}
			if strings.Contains(tc.path, "clientid=") && m["client_id"] != userID.ClientID {
				t.Fatalf("clientid selected %v, want %s", m["client_id"], userID.ClientID)
			}
		})
	}
}

func TestArcChallenge(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, ServerConfig{RateLimit: -1, MaxConcurrent: -1, ArcTokenDir: dir})
	arc := h.server.ArcHandler()
	path := strings.Replace(tokenPath, "2018-02-01", "2020-06-01", 1)
	w := get(arc, path, "Metadata", "true")
	realm, ok := strings.CutPrefix(w.Header().Get("WWW-Authenticate"), "Basic realm=")
	if w.Code != 401 || !ok || filepath.Dir(realm) != dir || !strings.HasSuffix(realm, ".key") {
		t.Fatalf("challenge: %d %q", w.Code, w.Header().Get("WWW-Authenticate"))
	}
	fi, err := os.Stat(realm)
	must(t, err)
	if fi.Mode().Perm() != 0o600 || fi.Size() > 4096 {
		t.Fatalf("challenge file mode %o size %d: want 0600 (no group) and at most 4096 bytes", fi.Mode().Perm(), fi.Size())
	}
	secret, err := os.ReadFile(realm)
	must(t, err)
	if w := get(arc, path, "Metadata", "true", "Authorization", "Basic wrong"); w.Code != 401 {
		t.Fatalf("wrong secret: %d", w.Code)
	}
	w = get(arc, path+"&client_id="+userID.ClientID, "Metadata", "true", "Authorization", "Basic "+string(secret))
	if w.Code != 200 || body(t, w)["client_id"] != userID.ClientID {
		t.Fatalf("with the secret: %d %s", w.Code, w.Body)
	}
	if _, err := os.Stat(realm); !os.IsNotExist(err) {
		t.Fatalf("the used challenge file is still there: %v", err)
	}
	if w := get(arc, path, "Metadata", "true", "Authorization", "Basic "+string(secret)); w.Code != 401 {
		t.Fatalf("a secret used twice: %d", w.Code)
	}
}

func TestHostNetworkOnly(t *testing.T) {
	h := newHarness(t, ServerConfig{RateLimit: -1, MaxConcurrent: -1, HostNetworkOnly: true})
	imds := h.server.IMDSHandler()
	w := get(imds, tokenPath, "Metadata", "true", "RemoteAddr", "10.244.7.19:51000")
	if w.Code != 403 || !strings.Contains(w.Body.String(), "unreachable") {
		t.Fatalf("a pod's address: %d %s (the SDKs need 403 with 'unreachable' to move on)", w.Code, w.Body)
	}
	if w := get(imds, tokenPath, "Metadata", "true", "RemoteAddr", "127.0.0.1:51000"); w.Code != 200 {
		t.Fatalf("a host process: %d %s", w.Code, w.Body)
	}
	// Without the option every source is served, as on AKS.
	open := newHarness(t, ServerConfig{RateLimit: -1, MaxConcurrent: -1})
	if w := get(open.server.IMDSHandler(), tokenPath, "Metadata", "true", "RemoteAddr", "10.244.7.19:51000"); w.Code != 200 {
		t.Fatalf("without --host-network-only: %d", w.Code)
	}
}

func TestRateLimitAndRecovery(t *testing.T) {
	h := newHarness(t, ServerConfig{})
	imds := h.server.IMDSHandler()
	ok, throttled := 0, 0
	for i := 0; i < 60; i++ {
		switch w := get(imds, tokenPath, "Metadata", "true"); w.Code {
		case 200:
			ok++
		case 429:
			throttled++
			if w.Header().Get("Retry-After") == "" || body(t, w)["error"] != "too_many_requests" {
				t.Fatalf("429 without Retry-After or body: %v %s", w.Header(), w.Body)
			}
		default:
			t.Fatalf("status %d", w.Code)
		}
	}
	if ok < DefaultRateLimit || ok > DefaultRateLimit+3 || throttled == 0 {
		t.Fatalf("%d served and %d throttled of 60 at once, want about %d served", ok, throttled, DefaultRateLimit)
	}
	time.Sleep(300 * time.Millisecond)
	if w := get(imds, tokenPath, "Metadata", "true"); w.Code != 200 {
		t.Fatalf("after a pause: %d", w.Code)
	}
	// Concurrency: a sixth request in flight is refused.
	h.server.inflight.Store(DefaultMaxConcurrent)
	if w := get(imds, tokenPath, "Metadata", "true"); w.Code != 429 {
		t.Fatalf("with %d in flight: %d", DefaultMaxConcurrent, w.Code)
	}
	h.server.inflight.Store(0)
}

func TestRevocationStopsServing(t *testing.T) {
	h := newHarness(t, ServerConfig{RateLimit: -1, MaxConcurrent: -1})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go h.agent.Run(ctx)
	imds := h.server.IMDSHandler()
	userPath := tokenPath + "&client_id=" + userID.ClientID
	if w := get(imds, userPath, "Metadata", "true"); w.Code != 200 {
		t.Fatalf("before: %d", w.Code)
	}
	// Detached: the cached token stops within a poll.
	h.ward.set([]agentproto.Identity{sysID}, false)
	waitStatus(t, imds, userPath, 400, time.Second)
	if w := get(imds, tokenPath, "Metadata", "true"); w.Code != 200 {
		t.Fatalf("the system identity after the detachment: %d", w.Code)
	}
	// Machine deleted: everything stops.
	h.ward.set(nil, true)
	waitStatus(t, imds, tokenPath, 400, time.Second)
	if _, err := h.agent.State(); err != ErrRevoked {
		t.Fatalf("state after revocation: %v", err)
	}
	h.agent.mu.RLock()
	n := len(h.agent.cache)
	h.agent.mu.RUnlock()
	if n != 0 {
		t.Fatalf("%d tokens still cached after revocation", n)
	}
}

func waitStatus(t *testing.T, h http.Handler, path string, want int, within time.Duration) {
	t.Helper()
	start := time.Now()
	for time.Since(start) < within {
		if w := get(h, path, "Metadata", "true"); w.Code == want {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%s still not %d after %s", path, want, within)
}

func TestRefreshBeforeExpiry(t *testing.T) {
	h := newHarness(t, ServerConfig{RateLimit: -1, MaxConcurrent: -1})
	now := time.Now()
	h.agent.cfg.Now = func() time.Time { return now }
	if _, err := h.agent.Token(context.Background(), Selector{}, "r"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.agent.Token(context.Background(), Selector{}, "r"); err != nil || h.ward.tokens.Load() != 1 {
		t.Fatalf("a second request minted again: %d", h.ward.tokens.Load())
	}
	now = now.Add(24*time.Hour - RefreshBefore + time.Second)
	h.agent.view.Load().okAt = now
	if _, err := h.agent.Token(context.Background(), Selector{}, "r"); err != nil || h.ward.tokens.Load() != 2 {
		t.Fatalf("within %s of expiry the token was served from the cache (%d minted)", RefreshBefore, h.ward.tokens.Load())
	}
}
