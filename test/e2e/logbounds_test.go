package e2e

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// dbBytes is the SQLite database's size on disk, write-ahead log included.
func dbBytes(t *testing.T, dataDir string) int64 {
	t.Helper()
	var n int64
	for _, f := range []string{"ward.db", "ward.db-wal"} {
		if fi, err := os.Stat(filepath.Join(dataDir, f)); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// TestLogBounds replays the reported disk-filling attacks: 200 refused
// token requests with a 60,000-character client_id (unauthenticated), and
// refused ARM writes with a 60 KB resource group name (and a 120 KB
// identity ID) by a principal that holds no role. Each request is refused as before; the
// database grows by a bounded amount (the sizes are measured after a clean
// stop, when the write-ahead log is folded into the database).
func TestLogBounds(t *testing.T) {
	t.Parallel()
	dataDir := filepath.Join(t.TempDir(), "ward-data")
	w := startWard(t, dataDir)
	noRole := w.newPrincipal(t, "no-role")
	w.stop()
	before := dbBytes(t, dataDir)

	// A restart listens on another port, hence another issuer: the tokens
	// are taken now (two successful sign-ins in the measured growth).
	w = startWard(t, dataDir)
	armToken := w.tokenFor(t, noRole, "https://management.azure.com/.default")
	admin, sub := w.graphToken(t), w.admin.SubscriptionID
	start := time.Now()
	hugeClient := strings.Repeat("a", 60_000)
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {hugeClient}, "client_secret": {"x"},
		"scope": {"https://management.azure.com/.default"}}
	for i := 0; i < 200; i++ {
		status, body := postToken(t, w, w.admin.TenantID, form)
		codes, _ := body["error_codes"].([]any)
		desc, _ := body["error_description"].(string)
		if status != 400 || body["error"] != "unauthorized_client" || len(codes) != 1 || codes[0] != float64(700016) ||
			!strings.HasPrefix(desc, "AADSTS700016: Application with identifier 'aaaa") || len(desc) > 2000 {
			t.Fatalf("request %d: HTTP %d %v %.300s", i, status, body["error"], desc)
		}
	}
	tokenTime := time.Since(start)

	hugeRG := strings.Repeat("g", 60*1024)
	paths := []string{
		"/subscriptions/" + sub + "/resourceGroups/" + hugeRG + "?api-version=2021-04-01",
		"/subscriptions/" + sub + "/resourceGroups/" + hugeRG + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/" + hugeRG + "?api-version=2023-01-31",
	}
	for i := 0; i < 10; i++ {
		for _, p := range paths {
			if status, body := w.raw(t, armToken, "PUT", "", p, `{"location":"westeurope"}`); status < 400 {
				t.Fatalf("no-role PUT of a 60 KB group: HTTP %d %v", status, body)
			}
		}
	}

	// The refusals are in the sign-in log: one record counting all 200,
	// its client ID cut.
	var signIn map[string]any
	deadline := time.Now().Add(10 * time.Second)
	for signIn == nil {
		status, out := w.raw(t, admin, "GET", "", "/v1.0/auditLogs/signIns?$top=1000", "")
		if status != 200 {
			t.Fatalf("sign-in log: HTTP %d %v", status, out)
		}
		rows, _ := out["value"].([]any)
		for _, r := range rows {
			m, _ := r.(map[string]any)
			if app, _ := m["appId"].(string); strings.HasPrefix(app, "aaaa") {
				if m["count"] == float64(200) {
					signIn = m
				}
				if len(app) > 256 {
					t.Fatalf("sign-in appId of %d bytes", len(app))
				}
			}
		}
		if signIn == nil && time.Now().After(deadline) {
			t.Fatalf("no sign-in record counting the 200 refusals: %v", rows)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if signIn["ipAddress"] != "127.0.0.1" || signIn["lastSeenDateTime"] == signIn["createdDateTime"] {
		t.Errorf("aggregated sign-in: ipAddress %v, created %v, last seen %v", signIn["ipAddress"], signIn["createdDateTime"], signIn["lastSeenDateTime"])
	}

	// The refused writes are in the activity log, bounded.
	status, out := w.raw(t, w.adminToken(), "GET", "", "/subscriptions/"+sub+"/providers/Microsoft.Insights/eventtypes/management/values?api-version=2015-04-01&$filter="+
		url.QueryEscape("eventTimestamp ge '"+start.UTC().Add(-time.Minute).Format(time.RFC3339)+"'"), "")
	if status != 200 {
		t.Fatalf("activity log: HTTP %d %v", status, out)
	}
	events, _ := out["value"].([]any)
	found := 0
	for _, e := range events {
		m, _ := e.(map[string]any)
		if m["caller"] != noRole.AppID {
			continue
		}
		found++
		authz, _ := m["authorization"].(map[string]any)
		scope, _ := authz["scope"].(string)
		action, _ := authz["action"].(string)
		if len(scope) > 1024 || len(action) > 1024 || !strings.HasSuffix(scope, "…(truncated)") {
			t.Errorf("activity event: scope %d bytes, action %d bytes (%.80s…)", len(scope), len(action), scope)
		}
	}
	if found != 20 {
		t.Errorf("%d activity events of the no-role principal, want 20", found)
	}

	w.stop()
	after := dbBytes(t, dataDir)
	grew := after - before
	t.Logf("200 refused token requests (60,000-character client_id) in %v and 20 refused 60 KB ARM writes: database %d -> %d bytes (+%d)",
		tokenTime.Round(time.Millisecond), before, after, grew)
	if grew > 200<<10 {
		t.Errorf("database grew by %d bytes, want under 200 KiB", grew)
	}
}

// TestLogRetentionFlag: with --log-retention, records older than the
// retention are deleted from both logs when the server starts (and hourly).
func TestLogRetentionFlag(t *testing.T) {
	t.Parallel()
	dataDir := filepath.Join(t.TempDir(), "ward-data")
	w := startWard(t, dataDir)
	postToken(t, w, w.admin.TenantID, url.Values{"grant_type": {"client_credentials"}, "client_id": {"retention-probe"},
		"client_secret": {"x"}, "scope": {"https://management.azure.com/.default"}})
	sub := w.admin.SubscriptionID
	if status, out, _ := w.request("PUT", "/subscriptions/"+sub+"/resourceGroups/retention-probe?api-version=2021-04-01", `{"location":"westeurope"}`); status != 201 {
		t.Fatalf("create group: %d %v", status, out)
	}
	probes := func(w *ward) (signIns, events int) {
		_, out := w.raw(t, w.graphToken(t), "GET", "", "/v1.0/auditLogs/signIns?$top=1000", "")
		rows, _ := out["value"].([]any)
		for _, r := range rows {
			if m, _ := r.(map[string]any); m["appId"] == "retention-probe" {
				signIns++
			}
		}
		_, out = w.raw(t, w.adminToken(), "GET", "", "/subscriptions/"+sub+"/providers/Microsoft.Insights/eventtypes/management/values?api-version=2015-04-01", "")
		evs, _ := out["value"].([]any)
		for _, e := range evs {
			if m, _ := e.(map[string]any); strings.Contains(fmt.Sprint(m["resourceId"]), "retention-probe") {
				events++
			}
		}
		return signIns, events
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if s, e := probes(w); s == 1 && e == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the probe sign-in and activity event were not recorded")
		}
		time.Sleep(100 * time.Millisecond)
	}
	w.stop()
	time.Sleep(1100 * time.Millisecond)

	w = startWard(t, dataDir, "--log-retention", "1s")
	deadline = time.Now().Add(10 * time.Second)
	for {
		s, e := probes(w)
		if s == 0 && e == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after a restart with --log-retention 1s: %d probe sign-ins and %d events left, want none", s, e)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
