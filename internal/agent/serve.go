package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"
)

// ServeConfig says where the agent listens.
type ServeConfig struct {
	Agent  *Agent
	Server *Server
	// Listen addresses; "" disables a protocol.
	IMDSAddr, ArcAddr, AppServiceAddr string
	// ProbeAddr serves /healthz and /readyz ("" disables them).
	ProbeAddr string
	// SetupIMDSAddress puts the IMDS address on the loopback interface
	// before listening (CAP_NET_ADMIN).
	SetupIMDSAddress bool
	Logger           *slog.Logger
	// Ready, if set, is called with the bound addresses by protocol
	// (imds, arc, appservice, probe) once every listener serves.
	Ready func(map[string]net.Addr)
}

// Serve learns the machine's state from Ward (retrying until it answers),
// then serves the enabled protocols until ctx ends.
func Serve(ctx context.Context, cfg ServeConfig) error {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	// Probes first: while Ward is not reachable the process is alive
	// (/healthz) but not ready (/readyz), so Kubernetes waits instead of
	// restarting it.
	var probeSrv *http.Server
	var probeAddr net.Addr
	if cfg.ProbeAddr != "" {
		ln, err := net.Listen("tcp", cfg.ProbeAddr)
		if err != nil {
			return fmt.Errorf("listen on %s (probes): %w", cfg.ProbeAddr, err)
		}
		probeAddr = ln.Addr()
		// The probes name Ward's URL and errors in /readyz: not for a
		// page that re-bound its name to this address either.
		probeSrv = &http.Server{Handler: guard(listenProbe, probes(cfg.Agent)), ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = probeSrv.Serve(ln) }()
		defer probeSrv.Close()
	}
	if err := waitForWard(ctx, cfg.Agent, log); err != nil {
		return err
	}
	if cfg.SetupIMDSAddress && cfg.IMDSAddr != "" {
		host, _, err := net.SplitHostPort(cfg.IMDSAddr)
		if err != nil {
			return fmt.Errorf("--imds-addr %q: %w", cfg.IMDSAddr, err)
		}
		if err := AddLoopbackAddress(net.ParseIP(host)); err != nil {
			return fmt.Errorf("put %s on the loopback interface: %w", host, err)
		}
	}
	var ls []protocolListener
	for _, l := range []protocolListener{
		{"imds", cfg.IMDSAddr, cfg.Server.IMDSHandler()},
		{"arc", cfg.ArcAddr, cfg.Server.ArcHandler()},
		{"appservice", cfg.AppServiceAddr, cfg.Server.AppServiceHandler()},
	} {
		if l.addr != "" {
			ls = append(ls, l)
		}
	}
	if len(ls) == 0 {
		return errors.New("no protocol enabled: give --imds-addr, --arc-addr or --app-service-addr")
	}
	bound := map[string]net.Addr{}
	if probeAddr != nil {
		bound["probe"] = probeAddr
	}
	errc := make(chan error, len(ls))
	servers, err := serveAll(ls, bound, errc, log)
	if err != nil {
		return err
	}
	bg, stop := context.WithCancel(ctx)
	defer stop()
	go cfg.Agent.Run(bg)
	go cfg.Server.Run(bg)
	if cfg.Ready != nil {
		cfg.Ready(bound)
	}
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, s := range servers {
		_ = s.Shutdown(shut)
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// waitForWard refreshes the agent's state until Ward answers (backing off
// from 500 ms to 10 s) or ctx ends.
func waitForWard(ctx context.Context, a *Agent, log *slog.Logger) error {
	for delay := 500 * time.Millisecond; ; delay = min(2*delay, 10*time.Second) {
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := a.Refresh(rctx)
		cancel()
		if err == nil {
			return nil
		}
		log.Warn("cannot reach ward yet; retrying", "err", err, "in", delay)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
	}
}

// protocolListener is one protocol's address and handler.
type protocolListener struct {
	name, addr string
	h          http.Handler
}

// serveAll listens on every listener's address and serves it, recording
// the bound addresses in bound and each server's end in errc. If one
// address cannot be bound, the servers already started are closed.
func serveAll(ls []protocolListener, bound map[string]net.Addr, errc chan<- error, log *slog.Logger) ([]*http.Server, error) {
	var servers []*http.Server
	for _, l := range ls {
		ln, err := net.Listen("tcp", l.addr)
		if err != nil {
			for _, s := range servers {
				s.Close()
			}
			if l.name == "imds" && errors.Is(err, syscall.EADDRNOTAVAIL) {
				return nil, fmt.Errorf("listen on %s: %w: the metadata address is not on this host; add it (ip addr add %s/32 dev lo, or --setup-imds-address) or disable IMDS with --imds-addr=", l.addr, err, strings.Split(l.addr, ":")[0])
			}
			return nil, fmt.Errorf("listen on %s (%s): %w", l.addr, l.name, err)
		}
		bound[l.name] = ln.Addr()
		srv := &http.Server{Handler: l.h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second,
			IdleTimeout: time.Minute, MaxHeaderBytes: 64 << 10, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
		servers = append(servers, srv)
		go func() { errc <- srv.Serve(ln) }()
		log.Info("ward agent listening", "protocol", l.name, "addr", ln.Addr().String())
	}
	return servers, nil
}

// probes serves /healthz (the process runs) and /readyz (it knows its
// machine's state and may serve it).
func probes(a *Agent) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz":
			_, _ = w.Write([]byte("ok\n"))
		case "/readyz":
			if _, err := a.State(); err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
			_, _ = w.Write([]byte("ok\n"))
		default:
			http.NotFound(w, r)
		}
	})
}
