package webhook

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/ward-id/ward/internal/kubeapi"
)

// Options configure `ward webhook`.
type Options struct {
	Addr       string // TLS listener for admission (and probes)
	ProbeAddr  string // optional plain-HTTP listener for /healthz, /readyz, /metrics
	Kubeconfig string // empty: KUBECONFIG, ~/.kube/config, then in-cluster
	Mutation   Config

	CertDir string // serve tls.crt/tls.key from here, reloaded on change
	// Self-signed mode (CertDir empty): Secret, Service and webhook
	// configuration names in Namespace.
	Namespace, SecretName, ServiceName, WebhookConfigName string
	ExtraHosts                                            []string
	TLSMinVersion                                         uint16
	Logger                                                *slog.Logger
	// Ready, when set, is called with the listener's address once serving.
	Ready func(addr string)
}

// TLSVersion parses "1.2" or "1.3".
func TLSVersion(s string) (uint16, error) {
	switch s {
	case "1.2":
		return tls.VersionTLS12, nil
	case "1.3", "":
		return tls.VersionTLS13, nil
	}
	return 0, fmt.Errorf("unsupported --tls-min-version %q: use 1.2 or 1.3", s)
}

// Kubernetes builds a client from a kubeconfig path or the usual defaults.
func Kubernetes(kubeconfig string) (*kubeapi.Client, error) {
	cfg, err := kubeapi.Config(kubeconfig, "", 10*time.Second)
	if err != nil {
		return nil, fmt.Errorf("%w (pass --kubeconfig, or run in a pod)", err)
	}
	return kubeapi.New(cfg)
}

type metrics struct {
	reg      *prometheus.Registry
	duration *prometheus.HistogramVec
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry(), duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "ward_webhook_admission_duration_seconds",
		Help:    "Time to decide one pod admission, by result (patched, unchanged, denied, skipped, error).",
		Buckets: []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1},
	}, []string{"result"})}
	m.reg.MustRegister(m.duration, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Run serves the webhook until ctx ends.
func Run(ctx context.Context, o Options) error {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	client, err := Kubernetes(o.Kubeconfig)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var certs interface {
		GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error)
		Ready() bool
	}
	if o.CertDir != "" {
		d, err := NewDirCertificate(o.CertDir, log)
		if err != nil {
			return err
		}
		go d.Run(ctx, 10*time.Second)
		certs = d
	} else {
		s := &SelfSigned{Client: client, Namespace: o.Namespace, SecretName: o.SecretName, ServiceName: o.ServiceName,
			WebhookConfigName: o.WebhookConfigName, ExtraHosts: o.ExtraHosts, Logger: log}
		started := make(chan error, 1)
		go s.Run(ctx, 10*time.Second, started)
		if err := <-started; err != nil {
			return fmt.Errorf("self-signed certificate: %w", err)
		}
		certs = s
	}

	sas := NewKubeServiceAccounts(ctx, client)
	m := newMetrics()
	h := &Handler{Mutator: NewMutator(o.Mutation, sas), Logger: log, Observe: func(_, result string, d time.Duration) {
		m.duration.WithLabelValues(result).Observe(d.Seconds())
	}}
	mux := http.NewServeMux()
	h.Mount(mux)
	probes := http.NewServeMux()
	for _, x := range []*http.ServeMux{mux, probes} {
		x.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) })
		x.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
			if !certs.Ready() || !sas.Synced() {
				http.Error(w, "not ready: certificate or service-account cache not loaded yet", http.StatusServiceUnavailable)
				return
			}
			w.Write([]byte("ok"))
		})
		x.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	}

	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 90 * time.Second,
		TLSConfig: &tls.Config{MinVersion: o.TLSMinVersion, GetCertificate: certs.GetCertificate}}
	errc := make(chan error, 2)
	go func() { errc <- srv.ServeTLS(ln, "", "") }()
	var probeSrv *http.Server
	if o.ProbeAddr != "" {
		pl, err := net.Listen("tcp", o.ProbeAddr)
		if err != nil {
			return err
		}
		probeSrv = &http.Server{Handler: probes, ReadHeaderTimeout: 5 * time.Second}
		go func() { errc <- probeSrv.Serve(pl) }()
	}
	if !sas.WaitForSync(ctx) {
		return ctx.Err()
	}
	log.Info("webhook: serving", "addr", ln.Addr().String(), "path", MutatePath)
	if o.Ready != nil {
		o.Ready(ln.Addr().String())
	}
	select {
	case <-ctx.Done():
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	shutdown, done := context.WithTimeout(context.Background(), 10*time.Second)
	defer done()
	if probeSrv != nil {
		probeSrv.Shutdown(shutdown)
	}
	return srv.Shutdown(shutdown)
}
