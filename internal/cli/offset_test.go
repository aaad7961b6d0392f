package cli

import (
	"strings"
	"testing"
	"time"
)

// TestParseOffset: --offset takes az's ##d##h##m (as `az monitor
// activity-log list --offset 1d` passes it) and Go durations.
func TestParseOffset(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"1d", 24 * time.Hour, ""},
		{"2h", 2 * time.Hour, ""},
		{"30m", 30 * time.Minute, ""},
		{"1d2h", 26 * time.Hour, ""},
		{"1D2H30M", 26*time.Hour + 30*time.Minute, ""},
		{"7d", 7 * 24 * time.Hour, ""},
		{"1h30m", 90 * time.Minute, ""},
		{"90s", 90 * time.Second, ""},
		{"1.5h", 90 * time.Minute, ""},
		{"0d", 0, "longer than zero"},
		{"-1h", 0, "longer than zero"},
		{"", 0, "neither"},
		{"1w", 0, "neither"},
		{"2h1d", 0, "neither"},
		{"d", 0, "neither"},
		{"99999999999d", 0, "too large"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseOffset(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("parseOffset(%q) = %v, %v; want an error with %q", tc.in, got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("parseOffset(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}
