package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/ward-id/ward/internal/bench"
	"github.com/ward-id/ward/internal/procmem"
	"github.com/ward-id/ward/internal/server"
)

// benchFlags are ward bench's flags.
type benchFlags struct {
	target, data, output, algs, storage, dsn, traceDir, serverLog string
	only                                                          *regexp.Regexp
	traceSlow, duration                                           time.Duration
	workers, runs, serverCPU, loadCPU                             int
	short, noPaced, pinned, noBlob                                bool
}

func benchCmd() *cobra.Command {
	var o benchFlags
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Drive a Ward's HTTPS endpoints with bounded load and report throughput and latency (ratios to a no-op endpoint)",
		Long: `ward bench starts Ward in-process on 127.0.0.1 (or targets one with --target and
--data holding its admin.json and ca.pem), prepares an identity, a federated
credential on a cluster issuer and a vault, and measures each scenario closed
loop (maximum rate) and paced at half that rate (latency from the intended send
time). Every run stops by itself: --duration per scenario and mode.

In-process it runs each --signing-alg twice: once with token reuse off (every
exchange signs) and once with reuse on (the "reuse hit" row).

--pinned runs each server as its own 'ward serve' process on one CPU
(--server-cpu) and the load generator on another (--load-cpu), one Go
scheduler thread each: the server's figures are then one core's, and the
load does not steal from it. It also reports the server's RSS when idle and
after the load, and for the scenarios that sign a token their rate as a share
of one core's limit, 1/(t_sign + t_noop), by rate and by the server's own
CPU, with t_sign measured on the server's core just before each signing
server starts.

Every row also carries "handler p99 ≤ ms": the server's own 99th percentile of
handler time over that row's requests, read from its /metrics histogram (the
upper bound of the bucket that holds it). The client's p99 adds the network,
HTTP/2 and the load generator's own scheduling; on a small machine those set
the floor, and this column shows what the server contributes.

With --pinned or --target the server is another process, and this one
collects its garbage between rows, not during them: on one core the load
generator's own collections showed in the latencies it measured.

--runs N repeats everything N times and prints every run, then the median of
each figure.

Once per run (in-process: on the first server) it also measures Get Blob and
Put Blob of 4 KiB and 4 MiB on a storage account's real endpoint, each as a
ratio to the no-op endpoint and, in MB/s, to the sequential write (fsync'd) and
read (page cache dropped) throughput of the disk under the data directory,
measured in the same run.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := newBenchRun(o)
			if err != nil {
				return err
			}
			// One KEK for every server of every run: on one PostgreSQL
			// they share the sealed admin and CA. A database used by
			// another invocation (another KEK) is refused: use a fresh one.
			if b.kek, err = writeKEK(); err != nil {
				return err
			}
			defer os.Remove(b.kek)
			for i := 0; i < o.runs; i++ {
				if err := b.once(cmd.Context()); err != nil {
					return err
				}
			}
			return printBench(cmd.OutOrStdout(), o.output, b.rep)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.target, "target", "", "base URL of a running Ward (default: start one in-process on 127.0.0.1)")
	f.StringVar(&o.data, "data", "ward-data", "with --target: the data directory holding its admin.json and ca.pem")
	f.DurationVar(&o.duration, "duration", 3*time.Second, "how long each scenario runs in each mode")
	f.IntVar(&o.workers, "workers", 0, "closed-loop concurrency (0: twice the CPUs Go may use)")
	f.BoolVar(&o.short, "short", false, "a few hundred milliseconds per scenario (CI: proves it runs, measures nothing)")
	f.BoolVar(&o.noPaced, "no-paced", false, "skip the runs paced at half the maximum rate")
	f.StringVar(&o.algs, "signing-alg", "RS256,ES256", "in-process: the signing algorithms to run, comma-separated")
	f.StringVar(&o.storage, "storage", "sqlite", "in-process: sqlite or postgres")
	f.StringVar(&o.dsn, "dsn", "", "in-process with --storage postgres: the database URL")
	f.StringVarP(&o.output, "output", "o", "table", "table or json")
	f.DurationVar(&o.traceSlow, "trace-slow", 0, "in-process: write the execution trace around a request at least this slow to --trace-dir (see ward serve --trace-slow)")
	f.StringVar(&o.traceDir, "trace-dir", "ward-bench-traces", "in-process with --trace-slow: where the traces go")
	f.BoolVar(&o.pinned, "pinned", false, "run each server as a 'ward serve' process on --server-cpu and the load on --load-cpu (Linux)")
	f.StringVar(&o.serverLog, "server-log-level", "error", "with --pinned: the servers' --log-level; info (ward serve's default) writes one access log line per request")
	f.IntVar(&o.serverCPU, "server-cpu", 0, "with --pinned: the CPU the server runs on")
	f.IntVar(&o.loadCPU, "load-cpu", 1, "with --pinned: the CPU the load generator runs on")
	f.IntVar(&o.runs, "runs", 1, "repeat the whole measurement this many times; print every run and the medians")
	f.BoolVar(&o.noBlob, "no-blob", false, "skip the blob GET/PUT scenarios and the disk measurement")
	f.Func("only", "run only the scenarios whose name matches this regular expression, e.g. 'reuse hit' to profile one row (the no-op always runs: every ratio needs it)", func(s string) (err error) {
		o.only, err = regexp.Compile(s)
		return err
	})
	return cmd
}

// benchRun is one ward bench invocation: its settings, the report it
// fills, and what one run has measured so far.
type benchRun struct {
	o         benchFlags
	cfg       bench.Config
	rep       benchReport
	diskBytes int64
	// signCost is t_sign per algorithm, measured once per invocation.
	signCost map[string]time.Duration
	// kek is the key-encryption key file every server of the invocation
	// shares.
	kek string
	// all and blobMeasured are the current run's results so far.
	all          []bench.Result
	blobMeasured bool
}

func newBenchRun(o benchFlags) (*benchRun, error) {
	if o.workers <= 0 {
		o.workers = 2 * runtime.GOMAXPROCS(0)
	}
	b := &benchRun{
		o:         o,
		cfg:       bench.Config{Duration: o.duration, Workers: o.workers, Paced: !o.noPaced, MaxRequests: 200_000},
		rep:       benchReport{Cores: runtime.NumCPU(), Pinned: o.pinned},
		diskBytes: 256 << 20,
		signCost:  map[string]time.Duration{},
	}
	if o.short {
		b.cfg.Duration, b.cfg.Workers, b.cfg.MaxRequests = 300*time.Millisecond, 4, 5_000
		b.diskBytes = 16 << 20
	}
	if o.runs < 1 {
		return nil, fmt.Errorf("--runs %d: at least 1", o.runs)
	}
	if o.pinned {
		if o.target != "" {
			return nil, errors.New("--pinned starts its own servers: it does not take --target")
		}
		if o.serverCPU == o.loadCPU || o.serverCPU < 0 || o.loadCPU < 0 || o.serverCPU >= runtime.NumCPU() || o.loadCPU >= runtime.NumCPU() {
			return nil, fmt.Errorf("--server-cpu %d and --load-cpu %d: two different CPUs of the %d here", o.serverCPU, o.loadCPU, runtime.NumCPU())
		}
		if err := bench.PinProcess(o.loadCPU); err != nil {
			return nil, err
		}
		b.rep.ServerCPU, b.rep.LoadCPU = &o.serverCPU, &o.loadCPU
	}
	if o.pinned || o.target != "" {
		// The server is another process: this one only generates load,
		// and collects its garbage between rows, not during them.
		bench.QuietGC(loadHeapLimit)
		b.cfg.CollectBetween = true
	}
	return b, nil
}

// loadHeapLimit is the load generator's heap backstop with its collector
// off (bench.QuietGC): a row allocates a few KiB per request, so a 3 s
// row at 20,000 requests a second stays well under it.
const loadHeapLimit = 256 << 20

// once is one whole run: against --target, or against a fresh server per
// signing algorithm and reuse setting.
func (b *benchRun) once(ctx context.Context) error {
	b.all, b.blobMeasured = nil, false
	if b.o.target != "" {
		t, err := targetFrom(b.o.target, b.o.data)
		if err != nil {
			return err
		}
		if err := b.measure(ctx, t, "", fmt.Sprint(time.Now().Unix()), false); err != nil {
			return err
		}
		b.rep.Runs = append(b.rep.Runs, b.all)
		return nil
	}
	var err error
	for _, alg := range strings.Split(b.o.algs, ",") {
		if _, ok := b.signCost[alg]; !ok && !b.o.pinned {
			if b.signCost[alg], err = bench.SignCost(alg, 300*time.Millisecond); err != nil {
				return err
			}
			b.rep.SignMicros = append(b.rep.SignMicros, signMicros{Alg: alg, Micros: float64(b.signCost[alg].Nanoseconds()) / 1000, CPU: "this process's CPUs"})
		}
		for _, reuse := range []bool{false, true} {
			if err := b.server(ctx, alg, reuse); err != nil {
				return err
			}
		}
	}
	b.rep.Runs = append(b.rep.Runs, b.all)
	return nil
}

// server starts one server (pinned or in-process), measures it and stops it.
func (b *benchRun) server(ctx context.Context, alg string, reuse bool) error {
	var (
		t    bench.Target
		stop func()
		pid  int
		err  error
	)
	if b.o.pinned && !reuse {
		// t_sign on the server's core just before its server starts: the
		// core is idle now, and the VM's speed drifts over a long run.
		cost, err := bench.SignCostOn(alg, 300*time.Millisecond, b.o.serverCPU)
		if err != nil {
			return err
		}
		b.signCost[alg] = cost
		b.rep.SignMicros = append(b.rep.SignMicros, signMicros{Alg: alg, Micros: float64(cost.Nanoseconds()) / 1000, CPU: fmt.Sprintf("the server's CPU %d", b.o.serverCPU)})
	}
	if b.o.pinned {
		t, pid, stop, err = pinnedServer(ctx, alg, reuse, b.o.storage, b.o.dsn, b.kek, b.o.serverLog, b.o.serverCPU)
		t.PID = pid
	} else {
		t, stop, err = inProcess(ctx, alg, reuse, b.o.storage, b.o.dsn, b.kek, b.o.traceSlow, b.o.traceDir)
	}
	if err != nil {
		return err
	}
	defer stop()
	rss := rssFigures{Server: alg + map[bool]string{false: " mint", true: " reuse"}[reuse]}
	if pid != 0 {
		rss.IdleMiB, rss.IdleAnonMiB, rss.IdleFileMiB = mibs(procmem.Read(pid))
	}
	suffix := strings.ToLower(alg) + map[bool]string{false: "-mint", true: "-reuse"}[reuse]
	err = b.measure(ctx, t, alg+" ", suffix+fmt.Sprint(time.Now().UnixNano()%100000), reuse)
	if pid != 0 {
		rss.AfterMiB, rss.AfterAnonMiB, rss.AfterFileMiB = mibs(procmem.Read(pid))
		b.rep.RSS = append(b.rep.RSS, rss)
	}
	return err
}

// measure prepares t's fixtures and runs its scenarios (only the reuse hit
// when reuseOnly; the blob scenarios and the disk once per run), then reads
// whether the sign-in log kept up.
func (b *benchRun) measure(ctx context.Context, t bench.Target, label, suffix string, reuseOnly bool) error {
	fx, err := bench.Prepare(ctx, t, suffix)
	if err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	noop, scenarios := bench.Scenarios(t, fx)
	if reuseOnly {
		scenarios = scenarios[:1]
		scenarios[0].Name = "reuse hit (federated exchange)"
		scenarios[0].Signs = false
	}
	c := b.cfg
	c.TLS = t.TLS
	c.SignTime = b.signCost[strings.TrimSpace(label)]
	c.ServerPID = t.PID
	c.Latency = func(ctx context.Context) (bench.Histogram, error) { return bench.ReadLatency(ctx, t) }
	if !b.o.noBlob && !reuseOnly && !b.blobMeasured {
		bf, err := bench.PrepareBlob(ctx, t, suffix)
		if err != nil {
			return fmt.Errorf("prepare the blob scenarios: %w", err)
		}
		scenarios = append(scenarios, bench.BlobScenarios(t, bf)...)
		d, err := bench.MeasureDisk(ctx, t.DataDir, b.diskBytes)
		if err != nil {
			return err
		}
		b.rep.Disk, c.Disk, b.blobMeasured = append(b.rep.Disk, d), &d, true
	}
	if b.o.only != nil {
		scenarios = slices.DeleteFunc(scenarios, func(sc bench.Scenario) bool { return !b.o.only.MatchString(sc.Name) })
		if len(scenarios) == 0 {
			return nil // this server has no row --only asks for
		}
	}
	res, err := bench.Run(ctx, c, noop, scenarios)
	for i := range res {
		res[i].Scenario = label + res[i].Scenario
	}
	b.all = append(b.all, res...)
	if err != nil {
		return err
	}
	// Did the sign-in log keep up with that load?
	sl, err := bench.ReadSignInLog(ctx, t)
	if err != nil {
		return err
	}
	sl.Server = strings.TrimSpace(label + map[bool]string{false: "", true: "reuse"}[reuseOnly])
	if sl.Server == "" {
		sl.Server = t.Base
	}
	b.rep.SignInLog = append(b.rep.SignInLog, sl)
	return nil
}

// benchReport is what ward bench prints.
type benchReport struct {
	Cores     int  `json:"cores"`
	Pinned    bool `json:"pinned"`
	ServerCPU *int `json:"server_cpu,omitempty"`
	LoadCPU   *int `json:"load_cpu,omitempty"`
	// SignMicros is t_sign per algorithm: once per invocation, or with
	// --pinned on the server's CPU before each signing server.
	SignMicros []signMicros `json:"sign_us,omitempty"`
	// Results are the one run's results, or the medians of Runs.
	Results   []bench.Result    `json:"results"`
	Runs      [][]bench.Result  `json:"runs,omitempty"`
	SignInLog []bench.SignInLog `json:"signin_log"`
	RSS       []rssFigures      `json:"rss,omitempty"`
	// Disk is the disk under the data directory, measured once per run
	// for the blob scenarios.
	Disk []bench.Disk `json:"disk"`
}

type signMicros struct {
	Alg    string  `json:"alg"`
	Micros float64 `json:"us"`
	// CPU is whose core it was measured on: --pinned measures it on the
	// server's before each signing server starts.
	CPU string `json:"cpu"`
}

// rssFigures is a pinned server's resident memory, idle (started and
// prepared, before the load) and after its load, with its two parts:
// anonymous (Go heap, stacks, SQLite's allocations) and file (the mapped
// binary).
type rssFigures struct {
	Server       string  `json:"server"`
	IdleMiB      float64 `json:"idle_mib"`
	IdleAnonMiB  float64 `json:"idle_anon_mib"`
	IdleFileMiB  float64 `json:"idle_file_mib"`
	AfterMiB     float64 `json:"after_load_mib"`
	AfterAnonMiB float64 `json:"after_load_anon_mib"`
	AfterFileMiB float64 `json:"after_load_file_mib"`
}

func mibs(u procmem.Usage, err error) (rss, anon, file float64) {
	if err != nil {
		return 0, 0, 0
	}
	return float64(u.RSS) / (1 << 20), float64(u.Anon) / (1 << 20), float64(u.File) / (1 << 20)
}

// writeKEK writes a fresh key-encryption key to a temporary file.
func writeKEK() (string, error) {
	kek, err := os.CreateTemp("", "ward-bench-kek-")
	if err != nil {
		return "", err
	}
	defer kek.Close()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return "", err
	}
	_, err = kek.WriteString(base64.StdEncoding.EncodeToString(k))
	return kek.Name(), err
}

// pinnedServer starts this binary's 'ward serve' on 127.0.0.1 in a
// temporary data directory, every thread of it on cpu, and waits until it
// serves.
func pinnedServer(ctx context.Context, alg string, reuse bool, storage, dsn, kekFile, logLevel string, cpu int) (bench.Target, int, func(), error) {
	dir, err := os.MkdirTemp("", "ward-bench-")
	if err != nil {
		return bench.Target{}, 0, nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.RemoveAll(dir)
		return bench.Target{}, 0, nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	exe, err := os.Executable()
	if err != nil {
		os.RemoveAll(dir)
		return bench.Target{}, 0, nil, err
	}
	args := []string{"serve", "--addr", addr, "--data", dir, "--signing-alg", alg, "--kek-file", kekFile, "--storage", storage, "--log-level", logLevel}
	if dsn != "" {
		args = append(args, "--dsn", dsn)
	}
	if !reuse {
		args = append(args, "--no-token-reuse")
	}
	logf, err := os.Create(filepath.Join(dir, "serve.log"))
	if err != nil {
		os.RemoveAll(dir)
		return bench.Target{}, 0, nil, err
	}
	c := exec.Command(exe, args...)
	c.Stdout, c.Stderr = logf, logf
	if err := bench.StartPinned(c, cpu); err != nil {
		logf.Close()
		os.RemoveAll(dir)
		return bench.Target{}, 0, nil, fmt.Errorf("start ward serve on CPU %d: %w", cpu, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- c.Wait() }()
	stop := func() {
		_ = c.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = c.Process.Kill()
			<-exited
		}
		logf.Close()
		os.RemoveAll(dir)
	}
	fail := func(err error) (bench.Target, int, func(), error) {
		stop()
		return bench.Target{}, 0, nil, err
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-exited:
			exited <- err // stop waits on it
			log, _ := os.ReadFile(filepath.Join(dir, "serve.log"))
			return fail(fmt.Errorf("ward serve exited (%v) before serving:\n%s", err, log))
		case <-ctx.Done():
			return fail(ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
		if t, err := targetFrom("https://"+addr, dir); err == nil && healthy(ctx, t) {
			return t, c.Process.Pid, stop, nil
		}
		if time.Now().After(deadline) {
			return fail(fmt.Errorf("ward serve on %s did not answer /healthz within a minute", addr))
		}
	}
}

// healthy reports whether t answers /healthz with 200.
func healthy(ctx context.Context, t bench.Target) bool {
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: t.TLS}, Timeout: 2 * time.Second}
	defer hc.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.Base+"/healthz", nil)
	if err != nil {
		return false
	}
	resp, err := hc.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// inProcess starts a Ward on 127.0.0.1 in a temporary data directory.
func inProcess(ctx context.Context, alg string, reuse bool, storage, dsn, kekFile string, traceSlow time.Duration, traceDir string) (bench.Target, func(), error) {
	dir, err := os.MkdirTemp("", "ward-bench-")
	if err != nil {
		return bench.Target{}, nil, err
	}
	cfg := server.Config{Addr: "127.0.0.1:0", DataDir: dir, SigningAlg: alg, Storage: storage, DSN: dsn, KEKFile: kekFile,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), TraceSlow: traceSlow, TraceDir: traceDir}
	if traceSlow > 0 {
		// The one line worth seeing: where a slow request's trace went
		// (not the requests the load generator cancels as it stops).
		cfg.Logger = slog.New(onlyTraces{slog.NewTextHandler(os.Stderr, nil)})
	}
	if !reuse {
		cfg.TokenReuseMaxAge = -1
	}
	ready := make(chan net.Addr, 1)
	cfg.Ready = func(a net.Addr) { ready <- a }
	s, err := server.New(ctx, cfg)
	if err != nil {
		os.RemoveAll(dir)
		return bench.Target{}, nil, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Run(runCtx) }()
	addr := <-ready
	stop := func() { cancel(); <-done; s.Close(); os.RemoveAll(dir) }
	t, err := targetFrom("https://"+addr.String(), dir)
	if err != nil {
		stop()
		return bench.Target{}, nil, err
	}
	return t, stop, nil
}

// targetFrom reads admin.json and ca.pem from a data directory.
func targetFrom(base, dir string) (bench.Target, error) {
	var a server.Admin
	b, err := os.ReadFile(filepath.Join(dir, server.AdminFile))
	if err != nil {
		return bench.Target{}, fmt.Errorf("read the admin credentials: %w (pass --data with the server's data directory)", err)
	}
	if err := json.Unmarshal(b, &a); err != nil {
		return bench.Target{}, err
	}
	pem, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		return bench.Target{}, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return bench.Target{Base: strings.TrimSuffix(base, "/"), TenantID: a.TenantID, Subscription: a.SubscriptionID, ClientID: a.ClientID,
		ClientSecret: a.ClientSecret, TLS: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, DataDir: dir}, nil
}

func printBench(w io.Writer, output string, rep benchReport) error {
	rep.Results = rep.Runs[len(rep.Runs)-1]
	if len(rep.Runs) > 1 {
		rep.Results = bench.Medians(rep.Runs)
	} else {
		rep.Runs = nil
	}
	if output == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	table := func(title string, res []bench.Result) error {
		fmt.Fprintln(w, title)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "scenario\tmode\trequests\terrors\treq/s\tp50 ms\tp99 ms\tmax ms\treq/s ÷ noop\tp50 ÷ noop\t÷ sign limit\tMB/s\tMB/s ÷ disk\tserver µs/req\tnoop µs ÷ this\tserver busy\tload busy\thandler p99 ≤ ms\t\n")
		for _, r := range res {
			lim, mb, disk := "-", "", ""
			cpu := "\t\t\t"
			if r.ServerCPUus > 0 {
				cpu = fmt.Sprintf("%.0f\t%.2f\t%.2f\t%.2f", r.ServerCPUus, r.CPURatio, r.ServerBusy, r.LoadBusy)
			}
			if r.LimitRPS > 0 {
				lim = fmt.Sprintf("%.2f of %.0f/s", r.LimitRatio, r.LimitRPS)
				if r.LimitCPURatio > 0 {
					lim += fmt.Sprintf(", by CPU %.2f", r.LimitCPURatio)
				}
			}
			if r.MBps > 0 {
				mb = fmt.Sprintf("%.1f", r.MBps)
			}
			if r.DiskRatio > 0 {
				disk = fmt.Sprintf("%.3f", r.DiskRatio)
			}
			p99 := ""
			switch {
			case r.HandlerP99ms < 0:
				p99 = "over"
			case r.HandlerP99ms > 0:
				p99 = fmt.Sprintf("%g", r.HandlerP99ms)
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.0f\t%.2f\t%.2f\t%.2f\t%.3f\t%.2f\t%s\t%s\t%s\t%s\t%s\t\n", r.Scenario, r.Mode, r.Requests, r.Errors, r.RPS, r.P50ms, r.P99ms, r.Maxms,
				r.RPSRatio, r.P50Ratio, lim, mb, disk, cpu, p99)
		}
		return tw.Flush()
	}
	for i, run := range rep.Runs {
		if err := table(fmt.Sprintf("run %d of %d", i+1, len(rep.Runs)), run); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	title := "results"
	if len(rep.Runs) > 1 {
		title = fmt.Sprintf("medians of %d runs", len(rep.Runs))
	}
	if rep.Pinned {
		title += fmt.Sprintf(" (pinned: server on CPU %d, load on CPU %d)", *rep.ServerCPU, *rep.LoadCPU)
	}
	if err := table(title, rep.Results); err != nil {
		return err
	}
	for _, d := range rep.Disk {
		read := "not measured on this system"
		if d.ReadMBps > 0 {
			read = fmt.Sprintf("%.0f MB/s (page cache dropped)", d.ReadMBps)
		}
		fmt.Fprintf(w, "disk under %s, %d MiB sequential: write %.0f MB/s (fsync'd), read %s\n", d.Dir, d.Bytes>>20, d.WriteMBps, read)
	}
	printSignCosts(w, rep.SignMicros)
	for _, r := range rep.RSS {
		fmt.Fprintf(w, "RSS (%s): %.1f MiB idle (anon %.1f, file %.1f), %.1f MiB after load (anon %.1f, file %.1f)\n",
			r.Server, r.IdleMiB, r.IdleAnonMiB, r.IdleFileMiB, r.AfterMiB, r.AfterAnonMiB, r.AfterFileMiB)
	}
	for _, l := range rep.SignInLog {
		fmt.Fprintf(w, "sign-in log (%s): %.0f written, %.0f waited for a full queue, %.0f dropped, %.0f refused by the database\n",
			l.Server, l.Written, l.Waited, l.Dropped, l.Failed)
	}
	return nil
}

// onlyTraces passes on the slow-request trace records only.
type onlyTraces struct{ slog.Handler }

func (h onlyTraces) Handle(ctx context.Context, r slog.Record) error {
	if !strings.HasPrefix(r.Message, "slow request traced") {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h onlyTraces) WithAttrs(as []slog.Attr) slog.Handler {
	return onlyTraces{h.Handler.WithAttrs(as)}
}

func (h onlyTraces) WithGroup(name string) slog.Handler { return onlyTraces{h.Handler.WithGroup(name)} }

// printSignCosts prints t_sign per algorithm: the one measurement, or the
// median and range of those taken before each server.
func printSignCosts(w io.Writer, costs []signMicros) {
	var algs []string
	by := map[string][]signMicros{}
	for _, s := range costs {
		if _, ok := by[s.Alg]; !ok {
			algs = append(algs, s.Alg)
		}
		by[s.Alg] = append(by[s.Alg], s)
	}
	for _, alg := range algs {
		ss := by[alg]
		us := make([]float64, len(ss))
		for i, s := range ss {
			us[i] = s.Micros
		}
		if len(us) == 1 {
			fmt.Fprintf(w, "t_sign %s: %.1f µs (on %s)\n", alg, us[0], ss[0].CPU)
			continue
		}
		m := bench.Median(us) // sorts us
		fmt.Fprintf(w, "t_sign %s: median %.1f µs of %d, %.1f–%.1f (on %s, before each server)\n", alg, m, len(us), us[0], us[len(us)-1], ss[0].CPU)
	}
}
