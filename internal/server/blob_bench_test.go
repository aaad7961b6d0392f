package server

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/ward-id/ward/internal/bench"
)

// BenchmarkBlob measures Get Blob and Put Blob of bench.BlobSizes over
// HTTPS/h2 against the real endpoint (client and server in this process,
// SQLite and the content-addressed store in a temporary directory); -bench
// reports MB/s from SetBytes. `ward bench` runs the same scenarios with
// ratios to the no-op endpoint and to the disk.
func BenchmarkBlob(b *testing.B) {
	t, _ := benchTarget(b, Config{})
	bf, err := bench.PrepareBlob(context.Background(), t, "b")
	if err != nil {
		b.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: t.TLS, ForceAttemptHTTP2: true}}
	for _, sc := range bench.BlobScenarios(t, bf) {
		b.Run(sc.Name, func(b *testing.B) {
			want := sc.Want
			if want == 0 {
				want = http.StatusOK
			}
			b.SetBytes(sc.Bytes)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, err := sc.New(context.Background())
					if err != nil {
						b.Error(err)
						return
					}
					resp, err := hc.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != want {
						b.Errorf("%s: status %d, want %d", sc.Name, resp.StatusCode, want)
						return
					}
				}
			})
		})
	}
}
