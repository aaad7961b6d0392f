package cli

import (
	"strings"
	"testing"
)

func TestRoleVerbs(t *testing.T) {
	e := newVerbEnv(t)
	sub := "/subscriptions/" + e.srv.Admin.SubscriptionID
	appID := e.srv.Admin.ClientID
	steps := []struct {
		name     string
		v        verb
		args     []string
		want     []string // substrings of the JSON output
		wantNot  []string
		wantErr  string
		noOutput bool
	}{
		{"create needs an assignee", &roleAssignmentCreate{}, []string{"--role", "Reader", "--scope", sub}, nil, nil, "--assignee or --assignee-object-id", false},
		{"create needs role and scope", &roleAssignmentCreate{}, []string{"--assignee", appID}, nil, nil, "--role, --scope", false},
		{"create with an unknown role", &roleAssignmentCreate{}, []string{"--assignee", appID, "--role", "Nope", "--scope", sub}, nil, nil, "role 'Nope' does not exist", false},
		{"create with an unknown assignee", &roleAssignmentCreate{}, []string{"--assignee", "nobody", "--role", "Reader", "--scope", sub}, nil, nil, "cannot find user or service principal", false},
		{"create by app ID", &roleAssignmentCreate{}, []string{"--assignee", appID, "--role", "Reader", "--scope", sub, "--name", "5f4e3d2c-1b0a-4f9e-8d7c-6b5a4f3e2d1c"},
			[]string{`"roleDefinitionName": "Reader"`, `"name": "5f4e3d2c-1b0a-4f9e-8d7c-6b5a4f3e2d1c"`, `"scope": "` + sub + `"`}, nil, "", false},
		// Run again (a setup script re-run): the existing assignment, as az
		// answers, not RoleAssignmentExists.
		{"create again is idempotent", &roleAssignmentCreate{}, []string{"--assignee", appID, "--role", "Reader", "--scope", sub},
			[]string{`"roleDefinitionName": "Reader"`, `"name": "5f4e3d2c-1b0a-4f9e-8d7c-6b5a4f3e2d1c"`}, nil, "", false},
		{"list by role at the subscription", &roleAssignmentList{}, []string{"--role", "Reader"},
			[]string{`"roleDefinitionName": "Reader"`, `"principalName": "` + appID + `"`}, []string{`"Owner"`}, "", false},
		{"list everything", &roleAssignmentList{}, []string{"--all", "--assignee", appID}, []string{`"Owner"`, `"Reader"`}, nil, "", false},
		{"definition list by name", &roleDefinitionList{}, []string{"-n", "Reader"}, []string{`"roleName": "Reader"`}, []string{`"Owner"`}, "", false},
		{"definition list by GUID", &roleDefinitionList{}, []string{"-n", "acdd72a7-3385-48ef-bd42-f606fba81ae7"}, []string{`"roleName": "Reader"`}, []string{`"Owner"`}, "", false},
		{"delete needs a choice", &roleAssignmentDelete{}, nil, nil, nil, "give --ids, or --assignee", false},
		{"delete by assignee and role", &roleAssignmentDelete{}, []string{"--assignee", appID, "--role", "Reader"}, nil, nil, "", true},
		{"deleted", &roleAssignmentList{}, []string{"--role", "Reader"}, nil, []string{`"Reader"`}, "", false},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			out, _, err := e.exec(t, st.v, st.args...)
			wantErr(t, strings.Join(st.args, " "), err, st.wantErr)
			for _, w := range st.want {
				if !strings.Contains(out, w) {
					t.Errorf("%q printed\n%s\nwant it to contain %s", st.args, out, w)
				}
			}
			for _, w := range st.wantNot {
				if strings.Contains(out, w) {
					t.Errorf("%q printed\n%s\nwant no %s", st.args, out, w)
				}
			}
			if st.noOutput && out != "" {
				t.Errorf("%q printed %q, want nothing", st.args, out)
			}
		})
	}
}

// TestRoleVerbsWithoutSubscription: a scope-less verb with no subscription
// selected says how to choose one.
func TestRoleVerbsWithoutSubscription(t *testing.T) {
	e := newVerbEnv(t)
	e.conn.sub = ""
	_, _, err := e.exec(t, &roleAssignmentList{})
	wantErr(t, "list", err, "give --scope, or select a subscription")
}
