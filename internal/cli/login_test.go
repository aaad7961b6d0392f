package cli

import (
	"strings"
	"testing"
)

// TestAccountAndMonitorVerbs runs the verbs of account, monitor and keys
// that talk to the server (login, logout and account set only touch the
// profile; the e2e CLI tests run them).
func TestAccountAndMonitorVerbs(t *testing.T) {
	e := newVerbEnv(t)
	sub := e.srv.Admin.SubscriptionID
	e.runSteps(t, []step{
		{"get-access-token", &accountToken{}, nil, []string{`"accessToken": "ey`, `"subscription": "` + sub + `"`, `"tokenType": "Bearer"`}, ""},
		{"get-access-token for a resource", &accountToken{}, []string{"--resource", e.srv.URL}, []string{`"accessToken": "ey`}, ""},
		{"show", &accountShow{}, nil, []string{`"id": "` + sub + `"`, `"profile": "admin.json"`, `"state": "Enabled"`}, ""},
		{"list", &accountList{}, nil, []string{`"id": "` + sub + `"`, `"isDefault": true`}, ""},
		// The sign-in log is written in batches: what it lists yet is not checked.
		{"sign-ins", &signInList{}, []string{"--top", "5"}, nil, ""},
		{"activity", &activityList{}, nil, nil, ""},
		// A group write, then the log filtered by group as az's flags ask.
		{"group for the log", &groupCreate{}, []string{"-n", "rg-log", "-l", "westeurope"}, nil, ""},
		{"activity by group", &activityList{}, []string{"--resource-group", "rg-log", "--offset", "1h"},
			[]string{`"resourceGroupName": "rg-log"`, `"value": "Microsoft.Resources/subscriptions/resourceGroups/write"`}, ""},
		{"activity by another group", &activityList{}, []string{"-g", "rg-none", "--offset", "1h"}, []string{"[]"}, ""},
		{"activity over az's 1d", &activityList{}, []string{"-g", "rg-log", "--offset", "1d"}, []string{`"resourceGroupName": "rg-log"`}, ""},
		{"sign-ins over az's 2h", &signInList{}, []string{"--offset", "2h", "--top", "1"}, nil, ""},
		{"activity with a bad start", &activityList{}, []string{"--start-time", "yesterday"}, nil, "not an RFC 3339 time"},
		{"rotate the signing key", &keysRotate{}, nil, []string{`"kid"`}, ""},
	})
	e.wantStorageFault(t, "ListSubscriptions", &accountList{})
}

// TestAccountShowWithoutSubscription warns instead of failing: show is how
// one finds out that none is selected.
func TestAccountShowWithoutSubscription(t *testing.T) {
	e := newVerbEnv(t)
	e.conn.sub = ""
	_, errOut, err := e.exec(t, &accountShow{})
	wantErr(t, "show", err, "")
	if want := "WARNING: no subscription is selected"; !strings.Contains(errOut, want) {
		t.Errorf("show printed %q to stderr, want %q", errOut, want)
	}
}
