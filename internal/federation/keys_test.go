package federation

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/net/dns/dnsmessage"
)

// issuer is a test OIDC issuer over HTTPS on 127.0.0.1.
type issuer struct {
	srv       *httptest.Server
	discovery atomic.Int32 // discovery requests: one per outbound fetch
	fetches   atomic.Int32 // key set requests
	down      atomic.Bool  // discovery answers 503
	cc        string

	mu   sync.Mutex
	base string // the issuer URL its documents name (default srv.URL)
	keys jose.JSONWebKeySet
	hang chan struct{} // when set, discovery waits for it to close
}

func (is *issuer) setBase(b string) { is.mu.Lock(); is.base = b; is.mu.Unlock() }
func (is *issuer) url() string      { is.mu.Lock(); defer is.mu.Unlock(); return is.base }

// hangUntilClosed makes discovery requests wait until the returned
// channel is closed (or the client gives up).
func (is *issuer) hangUntilClosed() chan struct{} {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.hang = make(chan struct{})
	return is.hang
}

func newIssuer(t *testing.T) *issuer {
	is := &issuer{cc: "max-age=3600"}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		is.discovery.Add(1)
		is.mu.Lock()
		hang, base := is.hang, is.base
		is.mu.Unlock()
		if hang != nil {
			select {
			case <-hang:
			case <-r.Context().Done():
				return
			}
		}
		if is.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"issuer": base, "jwks_uri": base + "/keys"})
	})
	mux.HandleFunc("/keys", func(w http.ResponseWriter, r *http.Request) {
		is.fetches.Add(1)
		w.Header().Set("Cache-Control", is.cc)
		is.mu.Lock()
		defer is.mu.Unlock()
		json.NewEncoder(w).Encode(is.keys)
	})
	mux.HandleFunc("/redirect/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://example.invalid/x", http.StatusFound)
	})
	is.srv = httptest.NewUnstartedServer(mux)
	is.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshake failures are expected
	is.srv.StartTLS()
	is.setBase(is.srv.URL)
	t.Cleanup(is.srv.Close)
	return is
}

func (is *issuer) addRSA(t *testing.T, kid string) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	is.mu.Lock()
	is.keys.Keys = append(is.keys.Keys, jose.JSONWebKey{Key: &k.PublicKey, KeyID: kid, Algorithm: "RS256", Use: "sig"})
	is.mu.Unlock()
	return k
}

// roots trusts the test server's certificate (SANs 127.0.0.1, ::1,
// example.com).
func (is *issuer) roots() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(is.srv.Certificate())
	return p
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fetchErr asserts err is a *FetchError of the kind, whose text contains
// want and none of Go's error vocabulary.
func fetchErr(t *testing.T, err error, kind FetchErrorKind, want string) *FetchError {
	t.Helper()
	var fe *FetchError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v (%T), want a *FetchError", err, err)
	}
	if fe.Kind != kind || !strings.Contains(fe.Error(), want) {
		t.Fatalf("error %q kind %d, want kind %d containing %q", fe.Error(), fe.Kind, kind, want)
	}
	for _, internal := range []string{"dial tcp", "connect:", "connection refused", "x509:", "tls: ", "certificate", "context deadline", "Client.Timeout", "EOF", "lookup "} {
		if strings.Contains(fe.Error(), internal) {
			t.Fatalf("error %q shows Go's %q", fe.Error(), internal)
		}
	}
	return fe
}

func TestFetcherCachesRefreshesAndSurvivesOutages(t *testing.T) {
	is := newIssuer(t)
	is.addRSA(t, "k1")
	c := &fakeClock{t: time.Now()}
	f := NewFetcher(FetcherConfig{RootCAs: is.roots(), AllowLoopback: true, Now: c.now})
	ctx := context.Background()
	if k, err := f.Key(ctx, is.url(), "k1"); err != nil || k.KeyID != "k1" {
		t.Fatalf("first fetch: %v %v", k, err)
	}
	if _, err := f.Key(ctx, is.url(), "k1"); err != nil || is.fetches.Load() != 1 {
		t.Fatalf("cached key refetched: %d fetches, %v", is.fetches.Load(), err)
	}
	// An unknown kid refetches, but at most every 30 s.
	is.addRSA(t, "k2")
	if _, err := f.Key(ctx, is.url(), "k2"); !errors.Is(err, ErrKeyNotFound) || is.fetches.Load() != 1 {
		t.Fatalf("refetch inside the rate limit: %v, %d fetches", err, is.fetches.Load())
	}
	c.add(31 * time.Second)
	if k, err := f.Key(ctx, is.url(), "k2"); err != nil || k.KeyID != "k2" || is.fetches.Load() != 2 {
		t.Fatalf("rotation pick-up: %v, %d fetches", err, is.fetches.Load())
	}
	// The issuer goes down after the cache expires: the known keys still
	// work, through the failed refresh and through the backoff after it.
	is.down.Store(true)
	c.add(2 * time.Hour)
	for i := range 3 {
		if k, err := f.Key(ctx, is.url(), "k1"); err != nil || k.KeyID != "k1" {
			t.Fatalf("stale key while the issuer is down (%d): %v", i, err)
		}
	}
	if n := is.discovery.Load(); n != 3 {
		t.Fatalf("%d discovery requests, want 3 (two fetches and one failed refresh)", n)
	}
	c.add(time.Minute)
	_, err := f.Key(ctx, is.url(), "k9")
	fe := fetchErr(t, err, FetchStatus, "answered HTTP 503")
	if fe.Status != http.StatusServiceUnavailable {
		t.Fatalf("status %d", fe.Status)
	}
}

func TestFetcherRefusals(t *testing.T) {
	is := newIssuer(t)
	is.addRSA(t, "k1")
	f := NewFetcher(FetcherConfig{RootCAs: is.roots(), AllowLoopback: true})
	ctx := context.Background()
	_, err := f.Key(ctx, strings.Replace(is.url(), "https://", "http://", 1), "k1")
	fetchErr(t, err, FetchInvalid, "not an https URL")
	_, err = f.Key(ctx, is.url()+"/redirect", "k1")
	fetchErr(t, err, FetchInvalid, "redirect")
	// The discovery document must name the issuer asked for.
	_, err = f.Key(ctx, is.url()+"/other", "k1")
	fetchErr(t, err, FetchStatus, "HTTP 404")
	is.setBase(is.srv.URL + "/elsewhere")
	_, err = NewFetcher(FetcherConfig{RootCAs: is.roots(), AllowLoopback: true}).Key(ctx, is.srv.URL, "k1")
	fetchErr(t, err, FetchInvalid, "names issuer '"+is.srv.URL+"/elsewhere'")
	is.setBase(is.srv.URL)
	// An oversized JWKS is refused.
	is.mu.Lock()
	is.keys.Keys = append(is.keys.Keys, jose.JSONWebKey{Key: is.keys.Keys[0].Key, KeyID: strings.Repeat("y", MaxJWKSBytes)})
	is.mu.Unlock()
	f2 := NewFetcher(FetcherConfig{RootCAs: is.roots(), AllowLoopback: true})
	_, err = f2.Key(ctx, is.url(), "k1")
	fetchErr(t, err, FetchInvalid, "larger than")
}

func TestCacheTTL(t *testing.T) {
	for cc, want := range map[string]time.Duration{
		"": time.Hour, "max-age=5": time.Minute, "public, max-age=600": 10 * time.Minute, "max-age=999999": 24 * time.Hour, "max-age=x": time.Hour,
	} {
		if got := cacheTTL(cc); got != want {
			t.Errorf("cacheTTL(%q) = %v, want %v", cc, got, want)
		}
	}
}

// TestFetcherOneFetchInFlight: 8 concurrent callers for a hanging issuer
// cause one outbound fetch; each is answered when its own context ends,
// or, without a deadline, when the shared fetch completes.
func TestFetcherOneFetchInFlight(t *testing.T) {
	const callers = 8
	run := func(t *testing.T, f *Fetcher, is *issuer, ctxFor func() (context.Context, context.CancelFunc)) ([]error, []time.Duration) {
		errs, took := make([]error, callers), make([]time.Duration, callers)
		var wg sync.WaitGroup
		for i := range callers {
			wg.Go(func() {
				ctx, cancel := ctxFor()
				defer cancel()
				start := time.Now()
				_, errs[i] = f.Key(ctx, is.url(), "k1")
				took[i] = time.Since(start)
			})
		}
		wg.Wait()
		return errs, took
	}

	t.Run("callers give up at their deadline", func(t *testing.T) {
		is := newIssuer(t)
		is.addRSA(t, "k1")
		defer close(is.hangUntilClosed())
		f := NewFetcher(FetcherConfig{RootCAs: is.roots(), AllowLoopback: true, Timeout: 2 * time.Second})
		errs, took := run(t, f, is, func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 300*time.Millisecond)
		})
		for i, err := range errs {
			fetchErr(t, err, FetchTimeout, "timed out")
			if took[i] > time.Second {
				t.Errorf("caller %d answered after %v, want about 300ms", i, took[i])
			}
		}
		if n := is.discovery.Load(); n != 1 {
			t.Fatalf("%d outbound fetches for %d concurrent callers, want 1", n, callers)
		}
		t.Logf("%d callers, %d outbound fetch, answered in %v..%v", callers, is.discovery.Load(), minOf(took), maxOf(took))
	})

	t.Run("callers share the fetch's result", func(t *testing.T) {
		is := newIssuer(t)
		is.addRSA(t, "k1")
		hang := is.hangUntilClosed()
		f := NewFetcher(FetcherConfig{RootCAs: is.roots(), AllowLoopback: true, Timeout: 5 * time.Second})
		time.AfterFunc(300*time.Millisecond, func() { close(hang) })
		errs, took := run(t, f, is, func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) })
		for i, err := range errs {
			if err != nil {
				t.Fatalf("caller %d: %v", i, err)
			}
		}
		if n, k := is.discovery.Load(), is.fetches.Load(); n != 1 || k != 1 {
			t.Fatalf("%d discovery and %d key set requests for %d callers, want 1 and 1", n, k, callers)
		}
		if maxOf(took) > 2*time.Second {
			t.Fatalf("callers answered after %v, want about 300ms", maxOf(took))
		}
	})

	t.Run("a hanging fetch times out once for everyone", func(t *testing.T) {
		is := newIssuer(t)
		is.addRSA(t, "k1")
		defer close(is.hangUntilClosed())
		f := NewFetcher(FetcherConfig{RootCAs: is.roots(), AllowLoopback: true, Timeout: 400 * time.Millisecond})
		errs, took := run(t, f, is, func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) })
		for _, err := range errs {
			fetchErr(t, err, FetchTimeout, "timed out")
		}
		if n := is.discovery.Load(); n != 1 || maxOf(took) > 2*time.Second {
			t.Fatalf("%d fetches, slowest caller %v; want 1 fetch and every caller answered at the 400ms timeout", n, maxOf(took))
		}
		// Inside the backoff the failure is answered from the negative cache.
		_, err := f.Key(context.Background(), is.url(), "k1")
		fetchErr(t, err, FetchTimeout, "tries the issuer again in")
		if n := is.discovery.Load(); n != 1 {
			t.Fatalf("%d fetches after the backoff answer, want 1", n)
		}
	})
}

func minOf(ds []time.Duration) time.Duration {
	m := ds[0]
	for _, d := range ds {
		m = min(m, d)
	}
	return m
}

func maxOf(ds []time.Duration) time.Duration {
	m := ds[0]
	for _, d := range ds {
		m = max(m, d)
	}
	return m
}

// TestFetcherBacksOff: a failing issuer is fetched again only after a
// backoff of 1 s doubling to 5 min; a success resets it.
func TestFetcherBacksOff(t *testing.T) {
	is := newIssuer(t)
	is.addRSA(t, "k1")
	is.down.Store(true)
	c := &fakeClock{t: time.Now()}
	f := NewFetcher(FetcherConfig{RootCAs: is.roots(), AllowLoopback: true, Now: c.now})
	ctx := context.Background()
	// 30 requests over 1.5 s.
	for range 30 {
		_, err := f.Key(ctx, is.url(), "k1")
		fetchErr(t, err, FetchStatus, "HTTP 503")
		c.add(50 * time.Millisecond)
	}
	if n := is.discovery.Load(); n != 2 {
		t.Fatalf("30 requests in 1.5 s caused %d fetches, want 2 (at 0 s and after the 1 s backoff)", n)
	}
	t.Logf("30 requests in 1.5 s to a failing issuer: %d outbound fetches", is.discovery.Load())
	// The backoff doubles with each failure (2 s was the last one) and
	// stops growing at 5 min.
	c.add(2 * time.Second)
	_, err := f.Key(ctx, is.url(), "k1")
	for want, atMax := 4*time.Second, 0; atMax < 2; want = min(2*want, maxBackoff) {
		if fe := fetchErr(t, err, FetchStatus, "503"); fe.RetryIn != want {
			t.Fatalf("retry in %v, want %v", fe.RetryIn, want)
		}
		if want == maxBackoff {
			atMax++
		}
		before := is.discovery.Load()
		c.add(want - 100*time.Millisecond)
		f.Key(ctx, is.url(), "k1")
		if is.discovery.Load() != before {
			t.Fatalf("fetched 100ms before the %v backoff ended", want)
		}
		c.add(100 * time.Millisecond)
		_, err = f.Key(ctx, is.url(), "k1")
		if is.discovery.Load() != before+1 {
			t.Fatalf("not fetched after the %v backoff", want)
		}
	}
	// The issuer recovers: the next fetch after the backoff succeeds and
	// resets it, so the next outage starts again at 1 s.
	is.down.Store(false)
	c.add(maxBackoff)
	if _, err := f.Key(ctx, is.url(), "k1"); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
	is.down.Store(true)
	c.add(2 * time.Hour)
	if _, err := f.Key(ctx, is.url(), "k1"); err != nil {
		t.Fatalf("stale key in the new outage: %v", err)
	}
	_, err = f.Key(ctx, is.url(), "k9")
	if fe := fetchErr(t, err, FetchStatus, "503"); fe.RetryIn != time.Second {
		t.Fatalf("first failure after a success: retry in %v, want 1s (the backoff reset)", fe.RetryIn)
	}
}

func TestFetcherClassifiesErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("not reachable", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		f := NewFetcher(FetcherConfig{AllowLoopback: true, Timeout: 2 * time.Second})
		_, err = f.Key(ctx, "https://"+addr, "k1")
		fe := fetchErr(t, err, FetchUnreachable, "is not reachable")
		if !strings.Contains(fe.Detail(), "refused") {
			t.Fatalf("detail %q lacks the cause", fe.Detail())
		}
	})
	t.Run("TLS verification failed", func(t *testing.T) {
		is := newIssuer(t)
		f := NewFetcher(FetcherConfig{AllowLoopback: true}) // system roots: the test CA is not trusted
		_, err := f.Key(ctx, is.url(), "k1")
		fe := fetchErr(t, err, FetchTLS, "TLS verification failed")
		if !strings.Contains(fe.Detail(), "certificate") {
			t.Fatalf("detail %q lacks the cause", fe.Detail())
		}
	})
	t.Run("not TLS at all", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		t.Cleanup(srv.Close)
		f := NewFetcher(FetcherConfig{AllowLoopback: true})
		_, err := f.Key(ctx, strings.Replace(srv.URL, "http://", "https://", 1), "k1")
		fetchErr(t, err, FetchTLS, "TLS verification failed")
	})
	t.Run("timed out", func(t *testing.T) {
		is := newIssuer(t)
		defer close(is.hangUntilClosed())
		f := NewFetcher(FetcherConfig{RootCAs: is.roots(), AllowLoopback: true, Timeout: 200 * time.Millisecond})
		_, err := f.Key(ctx, is.url(), "k1")
		fetchErr(t, err, FetchTimeout, "timed out")
	})
}

func TestFetcherAddressPolicy(t *testing.T) {
	is := newIssuer(t)
	is.addRSA(t, "k1")
	ctx := context.Background()
	strict := NewFetcher(FetcherConfig{RootCAs: is.roots(), Timeout: time.Second})
	loose := NewFetcher(FetcherConfig{RootCAs: is.roots(), AllowLoopback: true, Timeout: time.Second})
	port := is.srv.Listener.Addr().(*net.TCPAddr).Port
	for _, tc := range []struct{ issuer, kind string }{
		{"https://169.254.169.254/", "link-local"},
		{"https://169.254.169.254:443/metadata", "link-local"},
		{"https://[fe80::1]/", "link-local"},
		{"https://[fe80::1%25eth0]/", "link-local"},
		{"https://[::ffff:169.254.169.254]/", "link-local"},
		{"https://0.0.0.0/", "unspecified"},
		{"https://[::]/", "unspecified"},
		{"https://224.0.0.1/", "link-local"},
		{"https://239.1.2.3/", "multicast"},
	} {
		for name, f := range map[string]*Fetcher{"without the flag": strict, "with the flag": loose} {
			_, err := f.Key(ctx, tc.issuer, "k1")
			var ae *AddressError
			fe := fetchErr(t, err, FetchRefused, tc.kind+" address")
			if !errors.As(err, &ae) || ae.Kind != tc.kind {
				t.Errorf("%s %s: %v, want a %s AddressError", tc.issuer, name, fe, tc.kind)
			}
		}
	}
	for _, iss := range []string{is.url(), "https://localhost:" + strconv.Itoa(port), "https://[::1]:" + strconv.Itoa(port), "https://127.0.0.2:" + strconv.Itoa(port)} {
		_, err := strict.Key(ctx, iss, "k1")
		fetchErr(t, err, FetchRefused, "--allow-loopback-issuers")
	}
	if _, err := loose.Key(ctx, is.url(), "k1"); err != nil {
		t.Fatalf("loopback issuer with the flag: %v", err)
	}
	if n := is.discovery.Load(); n != 1 {
		t.Fatalf("%d requests reached the issuer, want 1 (the allowed one)", n)
	}
	// Private ranges stay allowed: the check does not refuse them (the
	// dial would then fail, as here, with "not reachable").
	for _, ip := range []string{"10.0.0.1", "172.16.0.1", "192.168.1.1", "fd00::1", "100.64.0.1", "203.0.113.9"} {
		if err := (addressPolicy{}).checkIP(netip.MustParseAddr(ip), false); err != nil {
			t.Errorf("%s refused: %v", ip, err)
		}
	}
}

// fakeDNS answers A queries from a table on 127.0.0.1 UDP; other names get
// NXDOMAIN and AAAA queries an empty answer.
func fakeDNS(t *testing.T, table map[string][4]byte) *net.Resolver {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			var p dnsmessage.Parser
			h, err := p.Start(buf[:n])
			if err != nil {
				continue
			}
			q, err := p.Question()
			if err != nil {
				continue
			}
			name := strings.TrimSuffix(strings.ToLower(q.Name.String()), ".")
			a, known := table[name]
			rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionAvailable: true}
			if !known {
				rh.RCode = dnsmessage.RCodeNameError
			}
			b := dnsmessage.NewBuilder(nil, rh)
			b.StartQuestions()
			b.Question(q)
			b.StartAnswers()
			if known && q.Type == dnsmessage.TypeA {
				b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}, dnsmessage.AResource{A: a})
			}
			out, err := b.Finish()
			if err == nil {
				pc.WriteTo(out, from)
			}
		}
	}()
	addr := pc.LocalAddr().String()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", addr)
	}}
}

// TestFetcherChecksResolvedAddresses: a host name that resolves to a
// link-local or loopback address is refused when dialled, before any
// connection is made.
func TestFetcherChecksResolvedAddresses(t *testing.T) {
	is := newIssuer(t)
	is.addRSA(t, "k1")
	port := strconv.Itoa(is.srv.Listener.Addr().(*net.TCPAddr).Port)
	// The test certificate names example.com; point it at the test server.
	res := fakeDNS(t, map[string][4]byte{"example.com": {127, 0, 0, 1}, "metadata.example.net": {169, 254, 169, 254}})
	is.setBase("https://example.com:" + port)
	ctx := context.Background()

	strict := NewFetcher(FetcherConfig{RootCAs: is.roots(), Resolver: res, Timeout: 2 * time.Second})
	_, err := strict.Key(ctx, "https://metadata.example.net/", "k1")
	fe := fetchErr(t, err, FetchRefused, "resolves to a link-local address")
	var ae *AddressError
	if !errors.As(fe, &ae) || !ae.Resolved {
		t.Fatalf("%v: want a resolved-address refusal", fe)
	}
	_, err = strict.Key(ctx, is.url(), "k1")
	fetchErr(t, err, FetchRefused, "resolves to a loopback address")
	if n := is.discovery.Load(); n != 0 {
		t.Fatalf("%d requests reached the server behind refused names", n)
	}

	loose := NewFetcher(FetcherConfig{RootCAs: is.roots(), Resolver: res, AllowLoopback: true, Timeout: 2 * time.Second})
	if _, err := loose.Key(ctx, is.url(), "k1"); err != nil {
		t.Fatalf("name resolving to loopback, with the flag: %v", err)
	}
	_, err = loose.Key(ctx, "https://metadata.example.net/", "k1")
	fetchErr(t, err, FetchRefused, "link-local")

	// The control function on its own.
	p := addressPolicy{}
	for addr, kind := range map[string]string{"169.254.169.254:80": "link-local", "[fe80::1]:443": "link-local", "127.0.0.1:443": "loopback", "[::1]:443": "loopback", "0.0.0.0:443": "unspecified", "10.1.2.3:443": ""} {
		err := p.control("tcp", addr, nil)
		if got := ""; errors.As(err, &ae) {
			got = ae.Kind
			if got != kind {
				t.Errorf("control(%s) = %s, want %q", addr, got, kind)
			}
		} else if kind != "" {
			t.Errorf("control(%s) = %v, want %s refused", addr, err, kind)
		}
	}
}

// TestFetcherThroughProxy: a configured proxy on loopback is dialled
// (the operator chose it) while the issuer's own host is still checked.
func TestFetcherThroughProxy(t *testing.T) {
	is := newIssuer(t)
	is.addRSA(t, "k1")
	port := strconv.Itoa(is.srv.Listener.Addr().(*net.TCPAddr).Port)
	is.setBase("https://example.com:" + port)
	var (
		connects atomic.Int32
		mu       sync.Mutex
		tunnels  []net.Conn
	)
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range tunnels {
			c.Close()
		}
	})
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		connects.Add(1)
		up, err := net.Dial("tcp", is.srv.Listener.Addr().String()) // example.com → the test issuer
		if err != nil {
			http.Error(w, "no upstream", http.StatusBadGateway)
			return
		}
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			up.Close()
			return
		}
		mu.Lock()
		tunnels = append(tunnels, up, conn)
		mu.Unlock()
		conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
		go func() { io.Copy(up, rw); up.Close() }()
		go func() { io.Copy(conn, up); conn.Close() }()
	}))
	t.Cleanup(proxy.Close)
	pu, _ := url.Parse(proxy.URL)
	f := NewFetcher(FetcherConfig{RootCAs: is.roots(), Proxy: http.ProxyURL(pu), Timeout: 2 * time.Second})
	if _, err := f.Key(context.Background(), is.url(), "k1"); err != nil || connects.Load() == 0 {
		t.Fatalf("through the proxy: %v (%d CONNECTs)", err, connects.Load())
	}
	_, err := f.Key(context.Background(), "https://169.254.169.254/", "k1")
	fetchErr(t, err, FetchRefused, "link-local")
}
