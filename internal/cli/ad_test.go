package cli

import (
	"encoding/json"
	"testing"
)

func TestADVerbs(t *testing.T) {
	e := newVerbEnv(t)
	sub := "/subscriptions/" + e.srv.Admin.SubscriptionID
	out, _, err := e.exec(t, &spCreate{}, "-n", "ci", "--role", "Reader", "--scopes", sub)
	if err != nil {
		t.Fatalf("create-for-rbac: %v", err)
	}
	var created struct{ AppID, Password string }
	if err := json.Unmarshal([]byte(out), &created); err != nil || created.AppID == "" || created.Password == "" {
		t.Fatalf("create-for-rbac printed %s (%v), want appId and password", out, err)
	}
	app := []string{"--id", created.AppID}
	e.runSteps(t, []step{
		{"create-for-rbac with an unknown role", &spCreate{}, []string{"--role", "Nope", "--scopes", sub}, nil, "role 'Nope' does not exist"},
		{"the role was assigned", &roleAssignmentList{}, []string{"--assignee", created.AppID}, []string{`"roleDefinitionName": "Reader"`}, ""},
		{"show", &spShow{}, app, []string{`"displayName": "ci"`}, ""},
		{"show needs an id", &spShow{}, nil, nil, "--id"},
		{"list by display name", &spList{}, []string{"--display-name", "ci"}, []string{`"appId": "` + created.AppID + `"`}, ""},
		{"reset replaces the secret", &spCredentialReset{}, app, []string{`"password": "`}, ""},
		{"reset with a bad certificate", &spCredentialReset{}, append([]string{"--cert", "bm90IGEgY2VydA=="}, app...), nil, "not an X.509 certificate"},
		{"delete", &spDelete{}, app, nil, ""},
		{"gone", &spShow{}, app, nil, "NotFound"},
	})
	e.wantStorageFault(t, "ListServicePrincipals", &spList{})
}
