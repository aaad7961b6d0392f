package cli

import (
	"testing"
	"time"

	"github.com/spf13/cobra"
)

// TestActivityFilter: monitor activity-log list's flags become the
// $filter az sends: the window from --start-time/--end-time/--offset
// (default: the six hours before now), then each filter flag; a quote in a
// value is refused, never sent into the filter.
func TestActivityFilter(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		args    []string
		want    string
		wantErr string
	}{
		{"default window", nil, "eventTimestamp ge '2026-12-06T06:00:00Z' and eventTimestamp le '2026-12-06T12:00:00Z'", ""},
		{"--offset back from now", []string{"--offset", "1h"}, "eventTimestamp ge '2026-12-06T11:00:00Z' and eventTimestamp le '2026-12-06T12:00:00Z'", ""},
		{"az's --offset 1d2h", []string{"--offset", "1d2h"}, "eventTimestamp ge '2026-12-05T10:00:00Z' and eventTimestamp le '2026-12-06T12:00:00Z'", ""},
		{"--offset forward from --start-time", []string{"--start-time", "2026-12-01T00:00:00Z", "--offset", "30m"},
			"eventTimestamp ge '2026-12-01T00:00:00Z' and eventTimestamp le '2026-12-01T00:30:00Z'", ""},
		{"--offset back from --end-time", []string{"--end-time", "2026-12-01T00:00:00+01:00", "--offset", "2h"},
			"eventTimestamp ge '2026-11-30T21:00:00Z' and eventTimestamp le '2026-11-30T23:00:00Z'", ""},
		{"both ends ignore --offset", []string{"--start-time", "2026-12-01T00:00:00Z", "--end-time", "2026-12-02T00:00:00Z", "--offset", "1h"},
			"eventTimestamp ge '2026-12-01T00:00:00Z' and eventTimestamp le '2026-12-02T00:00:00Z'", ""},
		{"filters in az's order", []string{"--offset", "1h", "--status", "Failed", "-g", "rg-log", "--caller", "app", "--correlation-id", "c0"},
			"eventTimestamp ge '2026-12-06T11:00:00Z' and eventTimestamp le '2026-12-06T12:00:00Z' and correlationId eq 'c0' and resourceGroupName eq 'rg-log' and caller eq 'app' and status eq 'Failed'", ""},
		{"a quote in a value", []string{"-g", "rg' or 1 eq 1"}, "", `resourceGroupName "rg' or 1 eq 1" may not contain a quote`},
		{"a bad end", []string{"--end-time", "now"}, "", `--end-time "now" is not an RFC 3339 time`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := &activityList{}
			cmd := &cobra.Command{Use: "list"}
			v.flags(cmd)
			if err := cmd.ParseFlags(tc.args); err != nil {
				t.Fatal(err)
			}
			got, err := v.filter(now)
			wantErr(t, tc.name, err, tc.wantErr)
			if got != tc.want {
				t.Errorf("filter of %q =\n%s\nwant\n%s", tc.args, got, tc.want)
			}
		})
	}
}
