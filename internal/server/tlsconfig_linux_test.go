package server

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ward-id/ward/internal/pki"
)

// threadCPU is the CPU time the calling OS thread has used; with the
// goroutine locked to its thread it is that goroutine's own CPU (crypto,
// runtime and the syscalls it makes), not the other side's.
// Linux has had the clock since 2.6.12; 0 if it ever fails (the figures
// then read 0, and the benchmark's own timing still stands).
func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

// BenchmarkHandshake runs TLS handshakes over loopback TCP against Ward's
// real serving configuration (servingTLS with the certificate pki.Load
// makes), each side on its own locked OS thread, and reports each side's CPU
// per handshake besides the wall time: server-µs/op is what one new
// connection costs Ward's core, client-µs/op what it costs the caller's.
//
//   - full: a client with no session cache, like the Azure SDKs' default
//     transport: every connection is a full TLS 1.3 handshake (certificate
//     chain verified, ECDSA signature, hybrid post-quantum key exchange).
//   - resumed: a client that keeps a session cache (tls.Config's
//     ClientSessionCache) resumes with the ticket Ward issued.
func BenchmarkHandshake(b *testing.B) {
	dir := b.TempDir()
	cert, err := pki.Load(dir, nil, time.Now)
	if err != nil {
		b.Fatal(err)
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, pki.CAFile))
	if err != nil {
		b.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	for _, bc := range []struct {
		name  string
		cache tls.ClientSessionCache
	}{
		{"full", nil},
		{"resumed", tls.NewLRUClientSessionCache(8)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			client := &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", NextProtos: []string{"h2"},
				MinVersion: tls.VersionTLS12, ClientSessionCache: bc.cache}
			benchmarkHandshake(b, servingTLS(cert), client)
		})
	}
}

func benchmarkHandshake(b *testing.B, server, client *tls.Config) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	type served struct {
		cpu      time.Duration
		resumed  bool
		protocol string
		err      error
	}
	results := make(chan served, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			start := threadCPU()
			tc := tls.Server(c, server)
			err = tc.Handshake()
			cs := tc.ConnectionState()
			// One byte of application data (the client reads it, and with
			// it the session ticket sent before it), then wait for the
			// client to close.
			var one [1]byte
			if err == nil {
				_, err = tc.Write(one[:])
			}
			_, _ = tc.Read(one[:])
			cpu := threadCPU() - start
			c.Close()
			results <- served{cpu, cs.DidResume, cs.NegotiatedProtocol, err}
		}
	}()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	// One connection first, so that a resuming client has its ticket.
	handshake := func() (time.Duration, bool) {
		start := threadCPU()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		tc := tls.Client(c, client)
		if err := tc.Handshake(); err != nil {
			b.Fatal(err)
		}
		// The server's byte: reading it also processes the TLS 1.3
		// session ticket that came before it, so the next connection can
		// resume.
		var one [1]byte
		if _, err := io.ReadFull(tc, one[:]); err != nil {
			b.Fatal(err)
		}
		resumed := tc.ConnectionState().DidResume
		tc.Close()
		return threadCPU() - start, resumed
	}
	handshake()
	if r := <-results; r.err != nil || r.protocol != "h2" {
		b.Fatalf("server handshake: %v, ALPN %q", r.err, r.protocol)
	}
	b.ReportAllocs()
	b.ResetTimer()
	var clientCPU, serverCPU time.Duration
	resumed := 0
	for range b.N {
		cpu, didResume := handshake()
		clientCPU += cpu
		r := <-results
		if r.err != nil {
			b.Fatal(r.err)
		}
		serverCPU += r.cpu
		if didResume {
			resumed++
		}
	}
	b.StopTimer()
	wantResume := client.ClientSessionCache != nil
	if wantResume && resumed != b.N || !wantResume && resumed != 0 {
		b.Fatalf("%d of %d handshakes resumed (session cache: %v)", resumed, b.N, wantResume)
	}
	b.ReportMetric(float64(serverCPU.Microseconds())/float64(b.N), "server-µs/op")
	b.ReportMetric(float64(clientCPU.Microseconds())/float64(b.N), "client-µs/op")
}
