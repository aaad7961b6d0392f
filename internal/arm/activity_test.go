package arm

import (
	"strings"
	"testing"
	"time"

	"github.com/ward-id/ward/internal/storage"
)

// TestParseEventFilter reads the activity-log filters az and the SDKs
// build: az 2.45 sends times without quotes or zone.
func TestParseEventFilter(t *testing.T) {
	now := time.Date(2026, 12, 6, 6, 0, 0, 0, time.UTC)
	ev := storage.ActivityEvent{Time: now.Add(-30 * time.Minute), CorrelationID: "c-1", Scope: "/subscriptions/s/resourceGroups/RG1/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1",
		CallerAppID: "app", Result: "Succeeded"}
	cases := []struct {
		name, filter string
		wantErr      string
		since        time.Time
		match        bool
	}{
		{"empty: the last day", "", "", now.Add(-24 * time.Hour), true},
		{"az 2.45 --resource-group --offset 1h", "eventTimestamp ge 2026-12-06T05:00:00.123456 and eventTimestamp le 2026-12-06T06:00:00.123456 and resourceGroupName eq 'rg1'", "",
			time.Date(2026, 12, 6, 5, 0, 0, 123456000, time.UTC), true},
		{"quoted RFC 3339", "eventTimestamp ge '2026-12-06T05:00:00Z'", "", time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC), true},
		{"another group", "eventTimestamp ge '2026-12-06T05:00:00Z' and resourceGroupName eq 'rg2'", "", time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC), false},
		{"resourceUri", "eventTimestamp ge 2026-12-06T05:00:00 and resourceUri eq '" + ev.Scope + "'", "", time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC), true},
		{"correlationId", "eventTimestamp ge 2026-12-06T05:00:00 and correlationId eq 'c-2'", "", time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC), false},
		{"resourceProvider and status", "eventTimestamp ge 2026-12-06T05:00:00 and resourceProvider eq 'Microsoft.ManagedIdentity' and status eq 'Succeeded'", "", time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC), true},
		{"ended before the event", "eventTimestamp ge 2026-12-06T05:00:00 and eventTimestamp le 2026-12-06T05:10:00", "", time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC), false},
		{"no start", "resourceGroupName eq 'rg1'", "eventTimestamp ge", time.Time{}, false},
		{"bad time", "eventTimestamp ge 'yesterday'", "not a time", time.Time{}, false},
		{"unknown field", "eventTimestamp ge 2026-12-06T05:00:00 and level eq 'Error'", "not supported", time.Time{}, false},
		{"garbage", "eventTimestamp ge 2026-12-06T05:00:00 or 1", "cannot read", time.Time{}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ef, err := parseEventFilter(tc.filter, now)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("parse(%q) error = %v, want one containing %q", tc.filter, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parse(%q): %v", tc.filter, err)
			}
			if !ef.since.Equal(tc.since) {
				t.Errorf("since = %v, want %v", ef.since, tc.since)
			}
			if got := ef.match(ev, "RG1"); got != tc.match {
				t.Errorf("match = %v, want %v", got, tc.match)
			}
		})
	}
}
