package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/ward-id/ward/internal/bench"
	"github.com/ward-id/ward/internal/server"
)

func benchCmd() *cobra.Command {
	var (
		target, data, output, algs, storage, dsn, traceDir string
		traceSlow                                          time.Duration
		duration                                           time.Duration
		workers                                            int
		short, noPaced, noBlob                             bool
	)
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

Once per run (in-process: on the first server) it also measures Get Blob and
Put Blob of 4 KiB and 4 MiB on a storage account's real endpoint, each as a
ratio to the no-op endpoint and, in MB/s, to the sequential write (fsync'd) and
read (page cache dropped) throughput of the disk under the data directory,
measured in the same run.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			cfg := bench.Config{Duration: duration, Workers: workers, Paced: !noPaced, MaxRequests: 200_000}
			if short {
				cfg.Duration, cfg.Workers, cfg.MaxRequests = 300*time.Millisecond, 4, 5_000
			}
			var all []bench.Result
			var logs []bench.SignInLog
			var disks []bench.Disk
			diskBytes := int64(256 << 20)
			if short {
				diskBytes = 16 << 20
			}
			run := func(t bench.Target, label, suffix string, reuseOnly bool) error {
				fx, err := bench.Prepare(ctx, t, suffix)
				if err != nil {
					return fmt.Errorf("prepare: %w", err)
				}
				noop, scenarios := bench.Scenarios(t, fx)
				if reuseOnly {
					scenarios = scenarios[:1]
					scenarios[0].Name = "reuse hit (federated exchange)"
				}
				cfg.Disk = nil
				if !noBlob && !reuseOnly && len(disks) == 0 {
					bf, err := bench.PrepareBlob(ctx, t, suffix)
					if err != nil {
						return fmt.Errorf("prepare the blob scenarios: %w", err)
					}
					scenarios = append(scenarios, bench.BlobScenarios(t, bf)...)
					d, err := bench.MeasureDisk(ctx, t.DataDir, diskBytes)
					if err != nil {
						return err
					}
					disks, cfg.Disk = append(disks, d), &d
				}
				cfg.TLS = t.TLS
				res, err := bench.Run(ctx, cfg, noop, scenarios)
				for i := range res {
					res[i].Scenario = label + res[i].Scenario
				}
				all = append(all, res...)
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
				logs = append(logs, sl)
				return nil
			}
			if target != "" {
				t, err := targetFrom(target, data)
				if err != nil {
					return err
				}
				if err := run(t, "", fmt.Sprint(time.Now().Unix()), false); err != nil {
					return err
				}
			} else {
				// One KEK for every in-process server of this run: on one
				// PostgreSQL they share the sealed admin and CA. A database
				// used by another run (another KEK) is refused: use a fresh one.
				kek, err := os.CreateTemp("", "ward-bench-kek-")
				if err != nil {
					return err
				}
				defer os.Remove(kek.Name())
				k := make([]byte, 32)
				if _, err := rand.Read(k); err != nil {
					return err
				}
				_, _ = kek.WriteString(base64.StdEncoding.EncodeToString(k))
				kek.Close()
				for _, alg := range strings.Split(algs, ",") {
					for _, reuse := range []bool{false, true} {
						t, stop, err := inProcess(ctx, alg, reuse, storage, dsn, kek.Name(), traceSlow, traceDir)
						if err != nil {
							return err
						}
						suffix := strings.ToLower(alg) + map[bool]string{false: "-mint", true: "-reuse"}[reuse]
						err = run(t, alg+" ", suffix+fmt.Sprint(time.Now().UnixNano()%100000), reuse)
						stop()
						if err != nil {
							return err
						}
					}
				}
			}
			return printBench(cmd.OutOrStdout(), output, all, logs, disks)
		},
	}
	f := cmd.Flags()
	f.StringVar(&target, "target", "", "base URL of a running Ward (default: start one in-process on 127.0.0.1)")
	f.StringVar(&data, "data", "ward-data", "with --target: the data directory holding its admin.json and ca.pem")
	f.DurationVar(&duration, "duration", 3*time.Second, "how long each scenario runs in each mode")
	f.IntVar(&workers, "workers", 2*runtime.GOMAXPROCS(0), "closed-loop concurrency")
	f.BoolVar(&short, "short", false, "a few hundred milliseconds per scenario (CI: proves it runs, measures nothing)")
	f.BoolVar(&noPaced, "no-paced", false, "skip the runs paced at half the maximum rate")
	f.BoolVar(&noBlob, "no-blob", false, "skip the blob GET/PUT scenarios and the disk measurement")
	f.StringVar(&algs, "signing-alg", "RS256,ES256", "in-process: the signing algorithms to run, comma-separated")
	f.StringVar(&storage, "storage", "sqlite", "in-process: sqlite or postgres")
	f.StringVar(&dsn, "dsn", "", "in-process with --storage postgres: the database URL")
	f.StringVarP(&output, "output", "o", "table", "table or json")
	f.DurationVar(&traceSlow, "trace-slow", 0, "in-process: write the execution trace around a request at least this slow to --trace-dir (see ward serve --trace-slow)")
	f.StringVar(&traceDir, "trace-dir", "ward-bench-traces", "in-process with --trace-slow: where the traces go")
	return cmd
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

func printBench(w io.Writer, output string, res []bench.Result, logs []bench.SignInLog, disks []bench.Disk) error {
	if output == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"cores": runtime.NumCPU(), "results": res, "signin_log": logs, "disk": disks})
	}
	defer func() {
		for _, l := range logs {
			fmt.Fprintf(w, "sign-in log (%s): %.0f written, %.0f waited for a full queue, %.0f dropped, %.0f refused by the database\n",
				l.Server, l.Written, l.Waited, l.Dropped, l.Failed)
		}
		for _, d := range disks {
			read := "not measured on this system"
			if d.ReadMBps > 0 {
				read = fmt.Sprintf("%.0f MB/s (page cache dropped)", d.ReadMBps)
			}
			fmt.Fprintf(w, "disk under %s, %d MiB sequential: write %.0f MB/s (fsync'd), read %s\n", d.Dir, d.Bytes>>20, d.WriteMBps, read)
		}
	}()
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "scenario\tmode\trequests\terrors\treq/s\tp50 ms\tp99 ms\tmax ms\treq/s ÷ noop\tp50 ÷ noop\tMB/s\tMB/s ÷ disk\t\n")
	for _, r := range res {
		mb, disk := "", ""
		if r.MBps > 0 {
			mb = fmt.Sprintf("%.1f", r.MBps)
		}
		if r.DiskRatio > 0 {
			disk = fmt.Sprintf("%.3f", r.DiskRatio)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.0f\t%.2f\t%.2f\t%.2f\t%.3f\t%.2f\t%s\t%s\t\n", r.Scenario, r.Mode, r.Requests, r.Errors, r.RPS, r.P50ms, r.P99ms, r.Maxms,
			r.RPSRatio, r.P50Ratio, mb, disk)
	}
	return tw.Flush()
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
