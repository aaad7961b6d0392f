package server

import (
	"database/sql"
	"net/http"
	"runtime/trace"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/ward-id/ward/internal/audit"
	"github.com/ward-id/ward/internal/changefeed"
	"github.com/ward-id/ward/internal/router"
	"github.com/ward-id/ward/internal/slowtrace"
	"github.com/ward-id/ward/internal/storage"
	"github.com/ward-id/ward/internal/sts"
)

// metrics are the server's Prometheus metrics. Labels are route patterns,
// methods, status and AADSTS codes: never principals, client IDs or paths
// with names in them, so /metrics is safe to publish and its cardinality
// is bounded by the route table.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	tokens   *prometheus.CounterVec
	// slow, when on, snapshots the execution trace around a slow request.
	slow *slowtrace.Recorder
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ward_http_requests_total",
		Help: "HTTP requests by route pattern, method and status code."}, []string{"route", "method", "code"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ward_http_request_duration_seconds",
		Help:    "HTTP request latency by route pattern.",
		Buckets: []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .25, .5, 1, 2.5}}, []string{"route"})
	m.tokens = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ward_tokens_total",
		Help: "Token requests by credential kind, result and AADSTS error code (0 on success)."}, []string{"credential", "result", "code"})
	m.reg.MustRegister(m.requests, m.latency, m.tokens, collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// instrument wraps a route's handler to count and time it under the
// route's pattern.
func (m *metrics) instrument(rt router.Route, next http.Handler) http.Handler {
	label := rt.Pattern
	if rt.Host != "" {
		label = rt.Host + ":" + rt.Pattern
	}
	obs := m.latency.WithLabelValues(label)
	// The common answer's counter, found at its first use (a route shows
	// no series before it answers): the label lookup hashes three strings
	// and strconv.Itoa(200) allocates, on every request.
	var ok atomic.Pointer[prometheus.Counter]
	taskName := rt.Method + " " + label
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		if trace.IsEnabled() {
			// One task per request, so `go tool trace` can show a slow
			// request's goroutines, regions and waits on their own.
			ctx, task := trace.NewTask(r.Context(), taskName)
			defer task.End()
			r = r.WithContext(ctx)
		}
		next.ServeHTTP(w, r)
		took := time.Since(start)
		obs.Observe(took.Seconds())
		status := router.Status(w)
		if status == 0 {
			status = http.StatusOK
		}
		if status == http.StatusOK && r.Method == rt.Method {
			c := ok.Load()
			if c == nil {
				n := m.requests.WithLabelValues(label, rt.Method, "200")
				c = &n
				ok.Store(c)
			}
			(*c).Inc()
		} else {
			m.requests.WithLabelValues(label, r.Method, strconv.Itoa(status)).Inc()
		}
		m.slow.Observe(taskName, took)
	})
}

// signInCounter counts token outcomes on their way to the sign-in log.
type signInCounter struct {
	next sts.SignInRecorder
	m    *metrics
}

func (c signInCounter) Record(s storage.SignIn) {
	c.m.tokens.WithLabelValues(s.Credential, s.Result, strconv.Itoa(s.ErrorCode)).Inc()
	c.next.Record(s)
}

// watch registers the gauges and counters read from the running parts.
func (m *metrics) watch(f *changefeed.Follower, tokens *sts.Service, signIns *audit.SignInLog, store storage.Storage, logDropped func() uint64) {
	gauge := func(name, help string, fn func() float64) {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, fn))
	}
	counter := func(name, help string, fn func() float64) {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, fn))
	}
	gauge("ward_changefeed_lag_seconds", "How long ago this replica last read the change feed to its end: the bound on its views' staleness.",
		func() float64 { return f.Lag().Seconds() })
	counter("ward_changefeed_applied_total", "Changes from the feed applied to in-memory views.", func() float64 { return float64(f.Applied()) })
	counter("ward_token_reuse_hits_total", "Token requests answered with a token minted earlier.", func() float64 { h, _ := tokens.ReuseStats(); return float64(h) })
	counter("ward_token_reuse_misses_total", "Token requests that minted a new token.", func() float64 { _, mi := tokens.ReuseStats(); return float64(mi) })
	counter("ward_signin_log_written_total", "Sign-in records written.", func() float64 { return float64(signIns.Stats().Written) })
	counter("ward_signin_log_aggregated_total", "Refused sign-ins folded into an earlier record.", func() float64 { return float64(signIns.Stats().Aggregated) })
	counter("ward_signin_log_waited_total", "Successful sign-ins that waited for room in the sign-in log's full queue (the disk falls behind).", func() float64 { return float64(signIns.Stats().Waited) })
	counter("ward_signin_log_failed_total", "Sign-in records lost because the database refused the write.", func() float64 { return float64(signIns.Stats().Failed) })
	counter("ward_signin_log_dropped_total", "Sign-in records lost because the disk could not keep up (never expected).", func() float64 { return float64(signIns.Stats().Dropped) })
	if logDropped != nil {
		counter("ward_access_log_dropped_total", "Access log lines dropped because stderr did not keep up (requests never wait for the log).",
			func() float64 { return float64(logDropped()) })
	}
	if db, ok := store.(interface{ SQLDB() *sql.DB }); ok {
		m.reg.MustRegister(collectors.NewDBStatsCollector(db.SQLDB(), "ward"))
	}
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}
