package e2e

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"
	"github.com/ward-id/ward/internal/shellquote/shellquotetest"
)

// TestConsoleCommandsQuoted is issue 21's reproduction against ward serve:
// a self-signed assertion whose subject is a command substitution, a
// custom role named to break out of double quotes, and a role assignment
// at a scope under an unknown provider. The console's sign-in log offers
// no fix for the self-signed assertion (nobody verified its claims); for a
// real token of the trusted issuer with such a subject, and for the role
// and the scope, every "Equivalent command" runs under sh -c as exactly the
// arguments it names, and nothing else runs.
func TestConsoleCommandsQuoted(t *testing.T) {
	t.Parallel()
	is := newOIDCIssuer(t)
	w := startWard(t, "", "--issuer-ca-file", is.caFile)
	clientID := setupWorkload(t, w, is, "system:serviceaccount:default:app")
	sub := "/subscriptions/" + w.admin.SubscriptionID
	const evil = "$(touch " + shellquotetest.Canary + ")"
	now := time.Now()
	claims := func(subject string) jwt.Claims {
		return jwt.Claims{Issuer: is.url, Subject: subject, Audience: jwt.Audience{"api://AzureADTokenExchange"},
			IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(time.Hour))}
	}

	// Anyone who knows the client ID: a self-signed assertion.
	forgedSub := "system:serviceaccount:default:app" + evil
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	s, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "rsa-1"))
	forged, _ := jwt.Signed(s).Claims(claims(forgedSub)).Serialize()
	if code, _ := refusal(t, w, exchangeForm(clientID, forged)); code != 700213 {
		t.Fatalf("forged assertion: AADSTS%d, want 700213", code)
	}
	// The trusted issuer itself signs an odd subject (a CI system's
	// subjects hold quotes and colons): verified, so a fix is offered.
	realSub := "system:serviceaccount:default:x\"; touch " + shellquotetest.Canary + "; echo \"'" + evil
	if code, _ := refusal(t, w, exchangeForm(clientID, is.token(t, claims(realSub), jose.RS256, "rsa-1"))); code != 700213 {
		t.Fatalf("real token with another subject: AADSTS%d, want 700213", code)
	}

	// An Owner of one group: a custom role's name and an assignment's scope.
	roleName := `x"; touch ` + shellquotetest.Canary + `; echo "`
	roleID := uuid.NewString()
	body, _ := json.Marshal(map[string]any{"properties": map[string]any{"roleName": roleName, "permissions": []any{map[string]any{"actions": []string{"*/read"}}},
		"assignableScopes": []string{sub}}})
	if st, b, _ := w.request("PUT", sub+"/providers/Microsoft.Authorization/roleDefinitions/"+roleID+"?api-version=2022-04-01", string(body)); st != 201 {
		t.Fatalf("custom role: %d %v", st, b)
	}
	scope := sub + "/resourceGroups/wl/providers/Contoso.Evil/things/x" + evil
	st, ident, _ := w.request("GET", sub+"/resourceGroups/wl/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app-id?api-version=2023-01-31", "")
	if st != 200 {
		t.Fatalf("identity: %d %v", st, ident)
	}
	principalID := ident["properties"].(map[string]any)["principalId"].(string)
	w.assign(t, principalID, strings.ReplaceAll(url.PathEscape(scope), "%2F", "/"), "acdd72a7-3385-48ef-bd42-f606fba81ae7")

	// The console, as the admin (a management token works as a session does).
	get := func(path string) map[string]any {
		t.Helper()
		st, b := w.raw(t, w.adminToken(), "GET", "", path, "")
		if st != 200 {
			t.Fatalf("GET %s: %d %v", path, st, b)
		}
		return b
	}
	var signIns []any
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		signIns, _ = get("/console/api/signins?identity=" + clientID)["value"].([]any)
		if len(signIns) >= 2 || time.Now().After(deadline) {
			break
		}
	}
	var fixes []map[string]any
	for _, r := range signIns {
		row := r.(map[string]any)
		fix, _ := row["fix"].(map[string]any)
		switch row["subject"] {
		case forgedSub:
			if fix != nil || row["verified"] != false {
				t.Errorf("the self-signed assertion's row offers a fix or is verified: %v", row)
			}
		case realSub:
			if fix == nil || row["verified"] != true {
				t.Errorf("the trusted issuer's token's row: %v, want verified with a fix", row)
				continue
			}
			fixes = append(fixes, fix)
		}
	}
	if len(fixes) != 1 {
		t.Fatalf("%d fixes among %d sign-ins, want 1", len(fixes), len(signIns))
	}
	fix := fixes[0]
	shellquotetest.Args(t, fix["cli"].(string), []string{"ward", "identity", "federated-credential", "create", "-g", "wl", "--identity-name", "app-id",
		"-n", fix["name"].(string), "--issuer", is.url, "--subject", realSub, "--audiences", "api://AzureADTokenExchange"}, "ward")

	want := map[string][]string{
		"role definition":        {"ward", "role", "definition", "list", "--name", roleName},
		"assignment":             {"ward", "role", "assignment", "list", "--assignee", principalID, "--scope", scope},
		"unknown-provider scope": {"ward", "role", "assignment", "list", "--scope", scope},
	}
	found := map[string]bool{}
	for _, path := range []string{"/console/api/explorer", "/console/api/graph?start=" + url.QueryEscape(sub+"/resourceGroups/wl")} {
		for _, cmd := range cliOf(get(path)) {
			for _, run := range shellquotetest.Run(t, cmd, "ward") {
				found[strings.Join(run, "\x00")] = true
			}
		}
	}
	for what, w := range want {
		if !found[strings.Join(w, "\x00")] {
			t.Errorf("%s: no console command runs as %q", what, w)
		}
	}
}

// cliOf collects every "cli" string of a console API answer.
func cliOf(v any) []string {
	var out []string
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if s, ok := e.(string); ok && k == "cli" && s != "" {
				out = append(out, s)
			}
			out = append(out, cliOf(e)...)
		}
	case []any:
		for _, e := range v {
			out = append(out, cliOf(e)...)
		}
	}
	return out
}
