// Package bench drives a running Ward with bounded, self-stopping load over
// its real HTTPS endpoints and reports throughput and latency. Every run
// measures a no-op endpoint (/healthz) too and states each figure also as a
// ratio to it, so results compare across noisy machines. Two modes per
// scenario: a closed loop (workers send back to back: the maximum rate), and
// an open loop paced at half that maximum, where each request's latency is
// taken from the moment it was meant to be sent, so a stalled server shows
// as queueing delay instead of hiding it (coordinated omission). It knows
// nothing of Ward's internals: only HTTP.
package bench

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Request builds one request of a scenario.
type Request func(ctx context.Context) (*http.Request, error)

// Scenario is one kind of request.
type Scenario struct {
	Name string
	New  Request
	// Want is the status a successful request answers (default 200).
	Want int
	// NewConnection sends every request on a new TLS connection, HTTP/2
	// by ALPN and no TLS session cache, as the Azure SDKs' default
	// transport does: every connection is a full handshake.
	NewConnection bool
	// SessionCache, with NewConnection, keeps a TLS session cache, so new
	// connections resume with the server's tickets (a client that asks for
	// it; the SDKs do not by default).
	SessionCache bool
	// Bytes is the payload each request moves (its body or its answer's);
	// with Disk it makes the result's MB/s and its ratio to the disk.
	Bytes int64
	Disk  DiskDirection
	// Signs says that every request of the scenario signs a token (no
	// reuse), so that its rate is also compared with the signing limit,
	// 1/(t_sign + t_noop) (Config.SignTime).
	Signs bool
}

// Config bounds a run.
type Config struct {
	Duration    time.Duration // per scenario and mode (default 2 s)
	Workers     int           // closed-loop concurrency (default 8)
	MaxRequests int           // per scenario and mode (default 200,000)
	TLS         *tls.Config
	Paced       bool // also run the paced mode at half the maximum
	// Disk, when measured, is what scenarios with a Disk direction are
	// compared with.
	Disk *Disk
	// SignTime, when set, is the CPU time of one token signature on a core
	// like the server's (SignCost): scenarios that sign are also stated as
	// a share of the limit 1/(SignTime + the no-op's time per request).
	SignTime time.Duration
	// ServerPID, when the server is a process of its own (--pinned), adds
	// its CPU time per request and how busy its core was to each closed
	// loop result.
	ServerPID int
	// Latency, when set, reads the server's handler-time histogram; each
	// result then carries the server's own p99 (HandlerP99ms), which the
	// load generator's scheduling does not reach.
	Latency func(context.Context) (Histogram, error)
	// CollectBetween, for a load generator that is not also the server
	// (pinned, or a --target), collects this process's garbage before
	// each timed loop; with the collector otherwise off (QuietGC) none
	// runs during one. See QuietGC.
	CollectBetween bool
}

// QuietGC turns this process's garbage collector off but for a backstop
// at limit bytes, for a load generator whose timed loops start with a
// collection (Config.CollectBetween). On one core, the generator's own
// collections were in its latencies: a 3 MB heap collected 8 times a
// second, each mark phase 4–6 ms long, doubled the p99 it measured for
// the no-op at half load (5–7 ms against 2–4 ms without them, same
// server). Not for in-process runs, where the server shares the heap.
func QuietGC(limit int64) {
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(limit)
}

// Result is one scenario in one mode.
type Result struct {
	Scenario string  `json:"scenario"`
	Mode     string  `json:"mode"` // closed | paced
	Requests int     `json:"requests"`
	Errors   int     `json:"errors"`
	RPS      float64 `json:"rps"`
	P50ms    float64 `json:"p50_ms"`
	P99ms    float64 `json:"p99_ms"`
	Maxms    float64 `json:"max_ms"`
	// RPSRatio and P50Ratio compare with the no-op endpoint in the same run.
	RPSRatio float64 `json:"rps_ratio_to_noop"`
	P50Ratio float64 `json:"p50_ratio_to_noop"`
	// MBps is the payload moved per second (MB = 10^6 bytes) and DiskRatio
	// that over the disk's sequential throughput in the scenario's
	// direction, for scenarios that move a payload.
	MBps      float64 `json:"mb_per_s,omitempty"`
	DiskRatio float64 `json:"ratio_to_disk,omitempty"`
	// LimitRPS is 1/(t_sign + t_noop) for a scenario that signs, and
	// LimitRatio its RPS as a share of it (0 for the others).
	LimitRPS   float64 `json:"limit_rps,omitempty"`
	LimitRatio float64 `json:"rps_ratio_to_limit,omitempty"`
	// LimitCPURatio is the same share by the server's own CPU (pinned):
	// (t_sign + the no-op's server CPU per request) over this scenario's
	// server CPU per request. Unlike LimitRatio it does not move with
	// how busy either core was, only with what the server spent.
	LimitCPURatio float64 `json:"cpu_ratio_to_limit,omitempty"`
	// FirstError is the first failure's text, when any.
	FirstError string `json:"first_error,omitempty"`
	// ServerCPUus is the server process's CPU time per request (closed
	// loop, Config.ServerPID), and CPURatio the no-op's over it: like
	// RPSRatio, but the server's own cost, whichever core ran out first.
	// ServerBusy and LoadBusy are the CPU the server and the load
	// generator used per second of the run (1 = a whole core).
	ServerCPUus float64 `json:"server_cpu_us_per_request,omitempty"`
	CPURatio    float64 `json:"cpu_ratio_to_noop,omitempty"`
	ServerBusy  float64 `json:"server_busy,omitempty"`
	LoadBusy    float64 `json:"load_busy,omitempty"`
	// HandlerP99ms is the server's own 99th percentile of handler time in
	// the run (Config.Latency): the upper bound of the histogram bucket
	// that holds it, so "no more than". -1 is above the last bound.
	HandlerP99ms float64 `json:"handler_p99_ms_at_most,omitempty"`
}

func (c *Config) defaults() {
	if c.Duration <= 0 {
		c.Duration = 2 * time.Second
	}
	if c.Workers <= 0 {
		c.Workers = 8
	}
	if c.MaxRequests <= 0 {
		c.MaxRequests = 200_000
	}
}

// client is the scenario's HTTP client: HTTP/2 by ALPN always (with
// DisableKeepAlives, Go's HTTP/2 transport uses each connection for one
// request), a session cache only when the scenario asks for one.
func (c Config) client(sc Scenario) *http.Client {
	tc := c.TLS.Clone()
	if sc.SessionCache {
		tc.ClientSessionCache = tls.NewLRUClientSessionCache(c.Workers * 2)
	}
	tr := &http.Transport{TLSClientConfig: tc, ForceAttemptHTTP2: true, DisableKeepAlives: sc.NewConnection,
		MaxIdleConnsPerHost: c.Workers * 2}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// Run runs noop (the baseline) and every scenario, closed loop and, if
// asked, paced at half the closed loop's rate.
func Run(ctx context.Context, cfg Config, noop Scenario, scenarios []Scenario) ([]Result, error) {
	cfg.defaults()
	var out []Result
	var base Result
	for i, sc := range append([]Scenario{noop}, scenarios...) {
		if sc.Want == 0 {
			sc.Want = http.StatusOK
		}
		hc := cfg.client(sc)
		cfg.collect()
		lat := cfg.latency(ctx)
		before, t0 := sampleCPU(cfg.ServerPID), time.Now()
		closed := closedLoop(ctx, cfg, hc, sc)
		closed = cpuFigures(closed, before, sampleCPU(cfg.ServerPID), time.Since(t0))
		closed.HandlerP99ms = lat(ctx)
		if i == 0 {
			base = closed
		}
		out = append(out, cfg.throughput(sc, limit(ratio(closed, base), base, sc, cfg.SignTime)))
		if cfg.Paced && closed.RPS > 0 {
			cfg.collect()
			lat := cfg.latency(ctx)
			r := paced(ctx, cfg, hc, sc, closed.RPS/2)
			r.HandlerP99ms = lat(ctx)
			out = append(out, cfg.throughput(sc, ratio(r, base)))
		}
		hc.CloseIdleConnections()
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
		if closed.Requests == 0 {
			return out, fmt.Errorf("scenario %s: no request succeeded: %s", sc.Name, closed.FirstError)
		}
	}
	return out, nil
}

// collect runs a collection before a timed loop (Config.CollectBetween).
func (c Config) collect() {
	if c.CollectBetween {
		runtime.GC()
	}
}

// latency starts a reading of the server's handler time: the function it
// returns reads again and gives the p99 of what was answered in between
// (0 without Config.Latency or when a reading fails: the figure is
// missing, the run goes on).
func (c Config) latency(ctx context.Context) func(context.Context) float64 {
	if c.Latency == nil {
		return func(context.Context) float64 { return 0 }
	}
	before, err := c.Latency(ctx)
	return func(ctx context.Context) float64 {
		after, err2 := c.Latency(ctx)
		if err != nil || err2 != nil {
			return 0
		}
		q := after.Sub(before).Quantile(0.99)
		if math.IsInf(q, 1) {
			return -1
		}
		return q
	}
}

func ratio(r, base Result) Result {
	if base.RPS > 0 {
		r.RPSRatio = r.RPS / base.RPS
	}
	if base.P50ms > 0 {
		r.P50Ratio = r.P50ms / base.P50ms
	}
	if base.ServerCPUus > 0 && r.ServerCPUus > 0 {
		r.CPURatio = base.ServerCPUus / r.ServerCPUus
	}
	return r
}

// throughput adds the payload rate of a scenario that moves one, and its
// ratio to the disk's throughput in the same direction.
func (c Config) throughput(sc Scenario, r Result) Result {
	if sc.Bytes <= 0 {
		return r
	}
	r.MBps = r.RPS * float64(sc.Bytes) / 1e6
	if c.Disk == nil {
		return r
	}
	var disk float64
	switch sc.Disk {
	case DiskRead:
		disk = c.Disk.ReadMBps
	case DiskWrite:
		disk = c.Disk.WriteMBps
	}
	if disk > 0 {
		r.DiskRatio = r.MBps / disk
	}
	return r
}

// limit states r as a share of what one core can sign: 1/(t_sign +
// t_noop), t_noop the no-op's time per request on the same server.
func limit(r, base Result, sc Scenario, sign time.Duration) Result {
	if !sc.Signs || sign <= 0 || base.RPS <= 0 {
		return r
	}
	r.LimitRPS = 1 / (sign.Seconds() + 1/base.RPS)
	r.LimitRatio = r.RPS / r.LimitRPS
	if r.ServerCPUus > 0 && base.ServerCPUus > 0 {
		r.LimitCPURatio = (float64(sign.Nanoseconds())/1000 + base.ServerCPUus) / r.ServerCPUus
	}
	return r
}

// Median is the middle of v, or the mean of its two middles when v has
// an even length (0 when empty). It sorts v.
func Median(v []float64) float64 {
	n := len(v)
	if n == 0 {
		return 0
	}
	slices.Sort(v)
	if n%2 == 0 {
		return (v[n/2-1] + v[n/2]) / 2
	}
	return v[n/2]
}

// Medians summarises runs of the same scenarios: per scenario and mode
// (paced runs match whatever their rate), the median of each figure.
func Medians(runs [][]Result) []Result {
	type key struct{ scenario, mode string }
	mode := func(r Result) string { return strings.Fields(r.Mode + " ")[0] }
	var order []key
	by := map[key][]Result{}
	for _, run := range runs {
		for _, r := range run {
			k := key{r.Scenario, mode(r)}
			if _, ok := by[k]; !ok {
				order = append(order, k)
			}
			by[k] = append(by[k], r)
		}
	}
	med := func(rs []Result, f func(Result) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		return Median(v)
	}
	out := make([]Result, 0, len(order))
	for _, k := range order {
		rs := by[k]
		m := Result{Scenario: k.scenario, Mode: fmt.Sprintf("%s (median of %d)", k.mode, len(rs))}
		for _, r := range rs {
			m.Requests += r.Requests
			m.Errors += r.Errors
			if m.FirstError == "" {
				m.FirstError = r.FirstError
			}
		}
		m.RPS = med(rs, func(r Result) float64 { return r.RPS })
		m.P50ms = med(rs, func(r Result) float64 { return r.P50ms })
		m.P99ms = med(rs, func(r Result) float64 { return r.P99ms })
		m.Maxms = med(rs, func(r Result) float64 { return r.Maxms })
		m.RPSRatio = med(rs, func(r Result) float64 { return r.RPSRatio })
		m.P50Ratio = med(rs, func(r Result) float64 { return r.P50Ratio })
		m.LimitRPS = med(rs, func(r Result) float64 { return r.LimitRPS })
		m.LimitRatio = med(rs, func(r Result) float64 { return r.LimitRatio })
		m.LimitCPURatio = med(rs, func(r Result) float64 { return r.LimitCPURatio })
		m.MBps = med(rs, func(r Result) float64 { return r.MBps })
		m.DiskRatio = med(rs, func(r Result) float64 { return r.DiskRatio })
		m.ServerCPUus = med(rs, func(r Result) float64 { return r.ServerCPUus })
		m.CPURatio = med(rs, func(r Result) float64 { return r.CPURatio })
		m.ServerBusy = med(rs, func(r Result) float64 { return r.ServerBusy })
		m.LoadBusy = med(rs, func(r Result) float64 { return r.LoadBusy })
		m.HandlerP99ms = med(rs, func(r Result) float64 { return r.HandlerP99ms })
		out = append(out, m)
	}
	return out
}

// recorder collects latencies and errors from concurrent senders.
type recorder struct {
	mu       sync.Mutex
	lat      []time.Duration
	errs     int
	firstErr string
}

func (r *recorder) add(d time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.errs++
		if r.firstErr == "" {
			r.firstErr = err.Error()
		}
		return
	}
	r.lat = append(r.lat, d)
}

func (r *recorder) result(name, mode string, elapsed time.Duration) Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	slices.Sort(r.lat)
	res := Result{Scenario: name, Mode: mode, Requests: len(r.lat), Errors: r.errs, FirstError: r.firstErr}
	if elapsed > 0 {
		res.RPS = float64(len(r.lat)) / elapsed.Seconds()
	}
	if n := len(r.lat); n > 0 {
		ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
		res.P50ms, res.P99ms, res.Maxms = ms(r.lat[n/2]), ms(r.lat[n*99/100]), ms(r.lat[n-1])
	}
	return res
}

func send(ctx context.Context, hc *http.Client, sc Scenario) error {
	req, err := sc.New(ctx)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != sc.Want {
		return fmt.Errorf("%s answered %d, want %d", sc.Name, resp.StatusCode, sc.Want)
	}
	return nil
}

// closedLoop sends back to back from cfg.Workers workers for cfg.Duration.
// A request started before the deadline runs to its end and counts, and the
// elapsed time includes it: a scenario slower than a short run (a 4 MiB
// upload in --short's 300 ms on a busy machine) still measures something.
func closedLoop(ctx context.Context, cfg Config, hc *http.Client, sc Scenario) Result {
	stop, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	var rec recorder
	var sent atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < cfg.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for stop.Err() == nil && sent.Add(1) <= int64(cfg.MaxRequests) {
				t := time.Now()
				err := send(ctx, hc, sc)
				if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
					return // the whole run was cancelled: not a failure
				}
				rec.add(time.Since(t), err)
			}
		}()
	}
	wg.Wait()
	return rec.result(sc.Name, "closed", time.Since(start))
}

// paced sends at rate per second on a fixed schedule; latency counts from
// each request's scheduled time.
func paced(ctx context.Context, cfg Config, hc *http.Client, sc Scenario, rate float64) Result {
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	var rec recorder
	interval := time.Duration(float64(time.Second) / rate)
	// At least one request: a scenario slower than a short run paces at
	// less than one per Duration.
	n := max(1, int(cfg.Duration/interval))
	if n > cfg.MaxRequests {
		n = cfg.MaxRequests
	}
	// A bounded pool of senders; a late schedule shows as latency.
	slots := make(chan struct{}, 256)
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < n && ctx.Err() == nil; i++ {
		at := start.Add(time.Duration(i) * interval)
		if d := time.Until(at); d > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(d):
			}
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			err := send(context.WithoutCancel(ctx), hc, sc)
			rec.add(time.Since(at), err)
		}()
	}
	wg.Wait()
	return rec.result(sc.Name, fmt.Sprintf("paced %.0f/s", rate), time.Since(start))
}
