package agent

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// BenchmarkCacheHit measures the IMDS token endpoint when the token is
// cached: real HTTP/1.1 over loopback with keep-alive, clients and server
// in this process. Run it on one core:
//
//	go test ./internal/agent -run '^$' -bench CacheHit -cpu 1 -benchtime 5s
//
// It reports req/s and the p99 latency seen by the clients. The rate and
// concurrency limits are off (they would cap it at 20 req/s, by design).
func BenchmarkCacheHit(b *testing.B) {
	h := newHarness(b, ServerConfig{RateLimit: -1, MaxConcurrent: -1})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: h.server.IMDSHandler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	// A minimal keep-alive HTTP/1.1 client per connection, so that the one
	// core goes to the agent rather than to net/http's client machinery.
	const clients = 4
	req := []byte("GET " + tokenPath + " HTTP/1.1\r\nHost: 169.254.169.254\r\nMetadata: true\r\nUser-Agent: bench\r\n\r\n")
	type conn struct {
		c  net.Conn
		br *bufio.Reader
	}
	dial := func() conn {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		return conn{c: c, br: bufio.NewReaderSize(c, 8192)}
	}
	do := func(cn conn) error {
		if _, err := cn.c.Write(req); err != nil {
			return err
		}
		status, err := cn.br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if !bytes.HasPrefix(status, []byte("HTTP/1.1 200")) {
			return fmt.Errorf("status line %q", status)
		}
		length := -1
		for {
			line, err := cn.br.ReadSlice('\n')
			if err != nil {
				return err
			}
			if len(line) <= 2 {
				break
			}
			if v, ok := bytes.CutPrefix(line, []byte("Content-Length: ")); ok {
				length, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
			}
		}
		if length < 0 {
			return errors.New("no Content-Length")
		}
		_, err = cn.br.Discard(length)
		return err
	}
	warm := dial()
	if err := do(warm); err != nil { // fill the cache
		b.Fatal(err)
	}
	warm.c.Close()
	var mu sync.Mutex
	var lat []time.Duration
	b.SetParallelism(clients)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		cn := dial()
		defer cn.c.Close()
		local := make([]time.Duration, 0, 1024)
		for pb.Next() {
			t0 := time.Now()
			if err := do(cn); err != nil {
				b.Error(err)
				return
			}
			local = append(local, time.Since(t0))
		}
		mu.Lock()
		lat = append(lat, local...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "req/s")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	}
	if hits, misses := h.agent.CacheStats(); misses != 1 {
		b.Fatalf("%d misses (%d hits): every request after the first must be a cache hit", misses, hits)
	}
}
