package bench

import (
	"context"
	"math"
	"slices"

	dto "github.com/prometheus/client_model/go"
)

// latencyMetric is the server's histogram of handler time by route.
const latencyMetric = "ward_http_request_duration_seconds"

// Histogram is the server's handler-time histogram summed over its routes
// (but /metrics, which the bench itself reads): cumulative counts at each
// upper bound, in seconds, as Prometheus keeps them.
type Histogram struct {
	Bounds []float64
	Counts []float64
}

// Sub is what h counted since before.
func (h Histogram) Sub(before Histogram) Histogram {
	out := Histogram{Bounds: h.Bounds, Counts: slices.Clone(h.Counts)}
	for i, b := range h.Bounds {
		if j := slices.Index(before.Bounds, b); j >= 0 {
			out.Counts[i] -= before.Counts[j]
		}
	}
	return out
}

// Quantile is the upper bound, in milliseconds, of the bucket that holds
// the q-quantile: the histogram says no more than that. It is 0 when
// nothing was counted and +Inf when the quantile is above the last bound.
func (h Histogram) Quantile(q float64) float64 {
	if len(h.Counts) == 0 {
		return 0
	}
	total := h.Counts[len(h.Counts)-1]
	if total <= 0 {
		return 0
	}
	for i, c := range h.Counts {
		if c >= q*total {
			return h.Bounds[i] * 1000
		}
	}
	return math.Inf(1)
}

// ReadLatency reads the handler-time histogram from t's /metrics.
func ReadLatency(ctx context.Context, t Target) (Histogram, error) {
	fams, err := readMetrics(ctx, t)
	if err != nil {
		return Histogram{}, err
	}
	var h Histogram
	f, ok := fams[latencyMetric]
	if !ok {
		return h, nil // no request answered yet
	}
	for _, m := range f.GetMetric() {
		if routeOf(m) == "/metrics" {
			continue
		}
		// Every route has the same finite buckets; the last entry of h is
		// +Inf, the total.
		i := 0
		for _, b := range m.GetHistogram().GetBucket() {
			if math.IsInf(b.GetUpperBound(), 1) {
				continue
			}
			if i == len(h.Bounds) {
				h.Bounds = append(h.Bounds, b.GetUpperBound())
				h.Counts = append(h.Counts, 0)
			}
			h.Counts[i] += float64(b.GetCumulativeCount())
			i++
		}
		if len(h.Bounds) == i {
			h.Bounds = append(h.Bounds, math.Inf(1))
			h.Counts = append(h.Counts, 0)
		}
		h.Counts[len(h.Counts)-1] += float64(m.GetHistogram().GetSampleCount())
	}
	return h, nil
}

func routeOf(m *dto.Metric) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == "route" {
			return l.GetValue()
		}
	}
	return ""
}
