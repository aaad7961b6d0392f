package agent

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// serveOn serves h on a real loopback listener, as Serve does, and returns
// its address.
func serveOn(t *testing.T, h http.Handler) *net.TCPAddr {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().(*net.TCPAddr)
}

// rawGet sends one HTTP/1.1 request with exactly the Host line given ("" for
// none, as HTTP/1.0 allows) and returns the status and IMDS error body.
func rawGet(t *testing.T, addr *net.TCPAddr, path, host string, hdr map[string]string) (int, map[string]string) {
	t.Helper()
	c, err := net.Dial("tcp", addr.String())
	must(t, err)
	defer c.Close()
	var b strings.Builder
	if host == "" {
		b.WriteString("GET " + path + " HTTP/1.0\r\n")
	} else {
		b.WriteString("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n")
	}
	for k, v := range hdr {
		b.WriteString(k + ": " + v + "\r\n")
	}
	b.WriteString("\r\n")
	_, err = io.WriteString(c, b.String())
	must(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	must(t, err)
	defer resp.Body.Close()
	var m map[string]string
	raw, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(raw, &m) // a token answer has no string-only shape; only errors are read
	return resp.StatusCode, m
}

// TestListenersRefuseForeignHosts drives each protocol's listener over real
// TCP with the Host values a DNS-rebinding page or a proxy would send, and
// with those every SDK sends.
func TestListenersRefuseForeignHosts(t *testing.T) {
	h := newHarness(t, ServerConfig{RateLimit: -1, MaxConcurrent: -1, AppServiceSecret: "s3cret"})
	arcPath := strings.Replace(tokenPath, "2018-02-01", "2020-06-01", 1)
	for _, p := range []struct {
		name    string
		handler http.Handler
		path    string
		hdr     map[string]string
		served  int // the status of a well-formed request that passed the guard
		imds    bool
	}{
		{"imds", h.server.IMDSHandler(), tokenPath, map[string]string{"Metadata": "true"}, http.StatusOK, true},
		{"arc", h.server.ArcHandler(), arcPath, map[string]string{"Metadata": "true"}, http.StatusUnauthorized, false},
		{"appservice", h.server.AppServiceHandler(), "/msi/token?api-version=2019-08-01&resource=https://vault.azure.net", map[string]string{"X-IDENTITY-HEADER": "s3cret"}, http.StatusOK, false},
		{"probe", guard(listenProbe, probes(h.agent)), "/readyz", nil, http.StatusOK, false},
	} {
		addr := serveOn(t, p.handler)
		port := strconv.Itoa(addr.Port)
		other := strconv.Itoa(addr.Port + 1)
		for _, c := range []struct {
			host string
			ok   bool
		}{
			{"127.0.0.1:" + port, true},
			{"localhost:" + port, true},
			{"LocalHost:" + port, true},
			{"169.254.169.254", p.imds},
			{"169.254.169.254:80", p.imds},
			{"169.254.169.254:" + port, false},
			{"attacker.example", false},
			{"attacker.example:" + port, false},
			{"attacker.example:80", false},
			{"127.0.0.1:" + other, false},
			{"127.0.0.1", false},
			{"127.0.0.2:" + port, false},
			{"[::1]:" + port, false},
			{"localhost.:" + port, false},
			{"", false},
		} {
			t.Run(p.name+" host "+c.host, func(t *testing.T) {
				status, m := rawGet(t, addr, p.path, c.host, p.hdr)
				if c.ok {
					if status != p.served {
						t.Fatalf("Host %q: %d %v, want %d (served)", c.host, status, m, p.served)
					}
					return
				}
				if status != http.StatusBadRequest || m["error"] != "invalid_request" || !strings.Contains(m["error_description"], "re-bound") {
					t.Fatalf("Host %q: %d %v, want 400 invalid_request naming the re-bound name", c.host, status, m)
				}
			})
		}
		for _, fwd := range []string{"X-Forwarded-For", "Forwarded", "X-Forwarded-Host", "forwarded"} {
			for _, path := range []string{p.path, "/no/such/path"} {
				t.Run(p.name+" "+fwd+" "+path, func(t *testing.T) {
					hdr := map[string]string{fwd: "for=10.0.0.1"}
					for k, v := range p.hdr {
						hdr[k] = v
					}
					status, m := rawGet(t, addr, path, "127.0.0.1:"+port, hdr)
					if status != http.StatusBadRequest || m["error"] != "invalid_request" || !strings.Contains(strings.ToLower(m["error_description"]), strings.ToLower(fwd)) {
						t.Fatalf("%s: %d %v, want 400 invalid_request naming the header", fwd, status, m)
					}
				})
			}
		}
	}
}

func TestOwnHost(t *testing.T) {
	v4 := &net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 40342}
	v6 := &net.TCPAddr{IP: net.ParseIP("::1"), Port: 40342}
	node := &net.TCPAddr{IP: net.ParseIP("10.1.2.3"), Port: 80}
	imds := &net.TCPAddr{IP: net.ParseIP(IMDSAddress), Port: 80}
	for _, c := range []struct {
		name  string
		l     listener
		host  string
		local net.Addr
		want  bool
	}{
		{"imds at its address", listenIMDS, "169.254.169.254", imds, true},
		{"imds, port given", listenIMDS, "169.254.169.254:80", imds, true},
		{"imds forwarded to a node port", listenIMDS, "169.254.169.254", node, true},
		{"imds by the node's address", listenIMDS, "10.1.2.3", node, true},
		{"imds: a name re-bound to the node", listenIMDS, "attacker.example", node, false},
		{"imds: localhost on a non-loopback listener", listenIMDS, "localhost", node, false},
		{"imds without a known listener", listenIMDS, "169.254.169.254", nil, true},
		{"arc without a known listener", listenArc, "127.0.0.1:40342", nil, false},
		{"arc over IPv6", listenArc, "[::1]:40342", v6, true},
		{"arc localhost over IPv6", listenArc, "localhost:40342", v6, true},
		{"arc: IPv4 at an IPv6 listener", listenArc, "127.0.0.1:40342", v6, false},
		{"arc: the IMDS address", listenArc, "169.254.169.254", v4, false},
		{"bare IPv6", listenArc, "::1", v6, false},
		{"port out of range", listenArc, "127.0.0.1:99999", v4, false},
		{"empty port", listenArc, "127.0.0.1:", v4, false},
		{"empty", listenArc, "", v4, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := ownHost(c.l, c.host, c.local); got != c.want {
				t.Fatalf("ownHost(%v, %q, %v) = %v, want %v", c.l, c.host, c.local, got, c.want)
			}
		})
	}
}
