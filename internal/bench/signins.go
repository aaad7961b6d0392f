package bench

import (
	"context"
	"fmt"
	"net/http"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// SignInLog is what a server's sign-in log did, from its /metrics: whether
// the writer kept up with the load a run put on it.
type SignInLog struct {
	Server  string  `json:"server"`
	Written float64 `json:"written"`
	Waited  float64 `json:"waited"`  // successful sign-ins that waited for a full queue
	Dropped float64 `json:"dropped"` // records lost (the disk could not keep up)
	Failed  float64 `json:"failed"`  // records the database refused
}

// ReadSignInLog reads the sign-in log counters from t's /metrics.
func ReadSignInLog(ctx context.Context, t Target) (SignInLog, error) {
	fams, err := readMetrics(ctx, t)
	if err != nil {
		return SignInLog{}, err
	}
	counter := func(name string) float64 {
		f, ok := fams[name]
		if !ok || len(f.GetMetric()) == 0 {
			return 0
		}
		return f.GetMetric()[0].GetCounter().GetValue()
	}
	return SignInLog{Server: t.Base, Written: counter("ward_signin_log_written_total"), Waited: counter("ward_signin_log_waited_total"),
		Dropped: counter("ward_signin_log_dropped_total"), Failed: counter("ward_signin_log_failed_total")}, nil
}

// readMetrics reads and parses t's /metrics.
func readMetrics(ctx context.Context, t Target) (map[string]*dto.MetricFamily, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.Base+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := t.httpClient().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read /metrics: %w", err)
	}
	return fams, nil
}
