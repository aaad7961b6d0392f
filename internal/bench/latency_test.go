package bench

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"math"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func TestHistogramQuantile(t *testing.T) {
	h := Histogram{Bounds: []float64{.0005, .001, .002, math.Inf(1)}, Counts: []float64{90, 98, 99, 100}}
	tests := []struct {
		q    float64
		want float64
	}{
		{0.5, 0.5}, {0.9, 0.5}, {0.95, 1}, {0.99, 2}, {0.995, math.Inf(1)}, {1, math.Inf(1)},
	}
	for _, tt := range tests {
		if got := h.Quantile(tt.q); got != tt.want {
			t.Errorf("Quantile(%v) = %v ms, want %v", tt.q, got, tt.want)
		}
	}
	if got := (Histogram{}).Quantile(0.99); got != 0 {
		t.Errorf("empty histogram: Quantile = %v, want 0", got)
	}
	// What was counted before the run does not count: 10 slow requests
	// before, then 100 fast ones.
	before := Histogram{Bounds: h.Bounds, Counts: []float64{0, 0, 0, 10}}
	after := Histogram{Bounds: h.Bounds, Counts: []float64{100, 100, 100, 110}}
	if got := after.Sub(before).Quantile(0.99); got != 0.5 {
		t.Errorf("after.Sub(before).Quantile(0.99) = %v, want 0.5", got)
	}
}

// TestReadLatency reads a histogram as client_golang exposes it, summed
// over routes and without the bench's own reads of /metrics.
func TestReadLatency(t *testing.T) {
	reg := prometheus.NewRegistry()
	lat := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: latencyMetric, Buckets: []float64{.0005, .001, .002}}, []string{"route"})
	reg.MustRegister(lat)
	for range 98 {
		lat.WithLabelValues("/healthz").Observe(.0001)
	}
	lat.WithLabelValues("/{tenant}/oauth2/v2.0/token").Observe(.0015)
	lat.WithLabelValues("/{tenant}/oauth2/v2.0/token").Observe(3) // above every bound
	for range 1000 {
		lat.WithLabelValues("/metrics").Observe(5) // must not count
	}
	srv := httptest.NewTLSServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	h, err := ReadLatency(context.Background(), Target{Base: srv.URL, TLS: &tls.Config{RootCAs: pool}})
	if err != nil {
		t.Fatal(err)
	}
	want := Histogram{Bounds: []float64{.0005, .001, .002, math.Inf(1)}, Counts: []float64{98, 98, 99, 100}}
	if len(h.Bounds) != len(want.Bounds) {
		t.Fatalf("ReadLatency = %+v, want %+v", h, want)
	}
	for i := range want.Bounds {
		if h.Bounds[i] != want.Bounds[i] || h.Counts[i] != want.Counts[i] {
			t.Fatalf("ReadLatency = %+v, want %+v", h, want)
		}
	}
	if q := h.Quantile(0.99); q != 2 {
		t.Errorf("p99 = %v ms, want 2", q)
	}
}
