package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ward-id/ward/client"
	"github.com/ward-id/ward/internal/shellquote/shellquotetest"
)

// The doctor's, ward run's and ward aks's advice, built from plain data as
// the server would hand it over (the flows against a running server are in
// test/e2e/cli_hints_test.go). Every command a hint offers runs under sh -c
// as exactly the arguments it names, whatever the names hold.

const (
	testSub    = "00000000-0000-0000-0000-0000000000aa"
	testIssuer = "https://ward.example:8443/oidc/tenant/c1/"
	// hostileGroup is a resource group name ARM accepts that a shell does
	// not take as one plain word.
	hostileGroup = "rg(1)"
	audExchange  = "api://AzureADTokenExchange"
)

// movedHosts are hosts that URL parsing lets an issuer URL hold and a
// shell would not take as one plain word.
var movedHosts = []string{"a';id;'b:1", "a'b", "x$(id)y:1", "a;id&b"}

func testIdentity(group, name, clientID string) client.Identity {
	return client.Identity{ID: "/subscriptions/" + testSub + "/resourceGroups/" + group + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/" + name,
		Name: name, Properties: client.IdentityProperties{ClientID: clientID, PrincipalID: "p-" + name}}
}

func testFIC(name, issuer, subject string, audiences ...string) client.FederatedCredential {
	if len(audiences) == 0 {
		audiences = []string{audExchange}
	}
	return client.FederatedCredential{Name: name, Properties: client.FederatedCredentialProperties{Issuer: issuer, Subject: subject, Audiences: audiences}}
}

// flexibleFIC is a credential with a claims matching expression.
func flexibleFIC(name, issuer, expr string) client.FederatedCredential {
	return client.FederatedCredential{Name: name, Properties: client.FederatedCredentialProperties{Issuer: issuer, Audiences: []string{audExchange},
		ClaimsMatchingExpression: &client.ClaimsMatchingExpression{Value: expr, LanguageVersion: 1}}}
}

func ficsOf(id client.Identity, fics ...client.FederatedCredential) []ficOf {
	var out []ficOf
	for _, f := range fics {
		out = append(out, ficOf{identity: id, fic: f})
	}
	return out
}

func testCluster(group, name, issuer string, workloadIdentity bool) client.Cluster {
	cl := client.Cluster{ID: "/subscriptions/" + testSub + "/resourceGroups/" + group + "/providers/Microsoft.ContainerService/managedClusters/" + name, Name: name}
	cl.Properties.OIDCIssuerProfile.Enabled = issuer != ""
	cl.Properties.OIDCIssuerProfile.IssuerURL = issuer
	cl.Properties.SecurityProfile.WorkloadIdentity.Enabled = workloadIdentity
	return cl
}

// reported runs check on a report and returns what it printed and how
// many checks failed.
func reported(check func(r *report)) (string, int) {
	var out bytes.Buffer
	r := &report{w: &out}
	check(r)
	return out.String(), r.failed
}

// wantLines fails unless text holds each of want.
func wantLines(t *testing.T, text string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("output lacks %q:\n%s", w, text)
		}
	}
}

func TestCheckCluster(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		cluster    client.Cluster
		found      bool
		wantIssuer string
		wantFailed int
		want       []string
		command    []string // the command the advice offers, if any
	}{
		{"missing", client.Cluster{}, false, "", 1,
			[]string{"FAIL  cluster c1 in resource group " + hostileGroup + " does not exist in subscription " + testSub, "fix: check the name: ward aks list -o table"}, nil},
		{"no issuer", testCluster(hostileGroup, "c1", "", true), true, "", 1,
			[]string{"FAIL  cluster c1 has no OIDC issuer, so no token of it can be exchanged"},
			[]string{"ward", "aks", "update", "-n", "c1", "-g", hostileGroup, "--enable-oidc-issuer", "--enable-workload-identity"}},
		{"issuer without workload identity", testCluster(hostileGroup, "c1", testIssuer, false), true, testIssuer, 0,
			[]string{"OK    cluster c1 has the hosted OIDC issuer " + testIssuer, "NOTE  workload identity is not enabled on cluster c1"},
			[]string{"ward", "aks", "update", "-n", "c1", "-g", hostileGroup, "--enable-workload-identity"}},
		{"issuer and workload identity", testCluster(hostileGroup, "c1", testIssuer, true), true, testIssuer, 0,
			[]string{"OK    cluster c1 has the hosted OIDC issuer " + testIssuer}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := wardCheck{cluster: "c1", group: hostileGroup, namespace: "shop", account: "app", audience: audExchange}
			var iss string
			out, failed := reported(func(r *report) { iss = checkCluster(r, w, testSub, tc.cluster, tc.found) })
			if iss != tc.wantIssuer || failed != tc.wantFailed {
				t.Errorf("issuer %q, %d failed; want %q, %d", iss, failed, tc.wantIssuer, tc.wantFailed)
			}
			wantLines(t, out, tc.want...)
			if tc.command != nil {
				shellquotetest.Commands(t, out, tc.command)
			} else if strings.Contains(out, "NOTE") {
				t.Errorf("unexpected note:\n%s", out)
			}
		})
	}
	// The cluster's name as the user typed it, whatever it holds.
	for _, v := range shellquotetest.Hostile {
		w := wardCheck{cluster: v, group: hostileGroup}
		out, _ := reported(func(r *report) { checkCluster(r, w, testSub, testCluster(hostileGroup, v, "", false), true) })
		shellquotetest.Commands(t, out, []string{"ward", "aks", "update", "-n", v, "-g", hostileGroup, "--enable-oidc-issuer", "--enable-workload-identity"})
		out, _ = reported(func(r *report) { checkCluster(r, w, testSub, testCluster(hostileGroup, v, testIssuer, false), true) })
		shellquotetest.Commands(t, out, []string{"ward", "aks", "update", "-n", v, "-g", hostileGroup, "--enable-workload-identity"})
	}
}

// TestIssuerMoves: a credential naming the cluster's issuer path at
// another host (one that URL parsing lets hold quotes and semicolons), or
// a recorded public URL at another host, is explained by ward aks show
// and the doctor with a command for the old host and one for the new
// issuer.
func TestIssuerMoves(t *testing.T) {
	t.Parallel()
	app := testIdentity(hostileGroup, "app-id", "cid")
	update := []string{"ward", "identity", "federated-credential", "update", "--name", "NAME", "--identity-name", "IDENTITY", "-g", "GROUP", "--issuer", testIssuer}
	for _, tc := range []struct {
		name      string
		recorded  string
		fics      []ficOf
		wantStale int
		oldHost   string // "" when nothing moved
		before    string
	}{
		{"nothing moved", "https://ward.example:8443", ficsOf(app, testFIC("same", testIssuer, "s"), testFIC("slashless", strings.TrimSuffix(testIssuer, "/"), "s"),
			testFIC("other path", "https://other.example/oidc/tenant/c2/", "s"), testFIC("unparsable", "https://a b/oidc/tenant/c1/", "s")), 0, "", ""},
		{"recorded public URL", "https://old.example:1", nil, 0, "old.example:1",
			"the cluster's issuer was https://old.example:1/oidc/tenant/c1/ when the server first started (public-url.json); it is now " + testIssuer},
		{"recorded, and a credential moved", "https://old.example:1", ficsOf(app, testFIC("moved", "https://"+movedHosts[0]+"/oidc/tenant/c1", "s")), 1, "old.example:1", "the cluster's issuer was"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := issuerMoveOf(testIssuer, tc.recorded, tc.fics)
			if len(m.stale) != tc.wantStale || !strings.HasPrefix(m.before, tc.before) || (m.fix == "") != (tc.oldHost == "") {
				t.Fatalf("issuerMoveOf = %+v", m)
			}
			if tc.oldHost == "" {
				return
			}
			var warnings bytes.Buffer
			m.warn(&warnings)
			doctor, failed := reported(m.report)
			if failed != tc.wantStale {
				t.Errorf("doctor: %d failed, want %d:\n%s", failed, tc.wantStale, doctor)
			}
			fixes := []string{warnings.String()}
			if tc.wantStale > 0 {
				fixes = append(fixes, doctor) // the doctor notes a recorded URL without a fix
			} else if doctor != "NOTE  "+m.before+"\n" {
				t.Errorf("doctor printed %q", doctor)
			}
			for _, out := range fixes {
				shellquotetest.Commands(t, out, []string{"ward", "serve", "--public-url", "https://" + tc.oldHost}, update)
			}
		})
	}
	for _, host := range movedHosts {
		moved := "https://" + host + "/oidc/tenant/c1"
		m := issuerMoveOf(testIssuer, "", ficsOf(app, testFIC("other", testIssuer, "system:serviceaccount:shop:other"), testFIC("moved", moved, "system:serviceaccount:shop:moved")))
		if len(m.stale) != 1 || m.before != "" {
			t.Fatalf("credential at %s: %+v", moved, m)
		}
		want := `federated credential "moved" of identity app-id names issuer ` + moved + ", which differs from the cluster's issuer " + testIssuer + " only by host:port"
		var warnings bytes.Buffer
		m.warn(&warnings)
		doctor, _ := reported(m.report)
		wantLines(t, warnings.String(), "WARNING: "+want, "WARNING: Ward's public URL changed.")
		wantLines(t, doctor, "FAIL  "+want, "fix: Ward's public URL changed.")
		for _, out := range []string{warnings.String(), doctor} {
			shellquotetest.Commands(t, out, []string{"ward", "serve", "--public-url", "https://" + host}, update)
		}
	}
}

// TestIdentityTrustingCheck: the doctor checks the identity that trusts
// the service account, or the nearest one, or says how to create one for
// exactly the subject, whatever the namespace is called.
func TestIdentityTrustingCheck(t *testing.T) {
	t.Parallel()
	const subject = "system:serviceaccount:shop:app"
	a, b := testIdentity(hostileGroup, "a-id", "cid-a"), testIdentity(hostileGroup, "b-id", "cid-b")
	for _, tc := range []struct {
		name   string
		fics   []ficOf
		want   string // the identity checked, "" for none
		output string
	}{
		{"exact", append(ficsOf(a, testFIC("x", testIssuer, "system:serviceaccount:shop:other")), ficsOf(b, testFIC("y", testIssuer, subject))...), "b-id", ""},
		{"flexible", ficsOf(b, flexibleFIC("team", testIssuer, "claims['sub'] matches 'system:serviceaccount:shop:*'")), "b-id", ""},
		{"two exact", append(ficsOf(a, testFIC("x", testIssuer, subject)), ficsOf(b, testFIC("y", testIssuer, subject))...), "a-id",
			"NOTE  2 identities trust " + subject + ": a-id (cid-a), b-id (cid-b)"},
		{"the nearest: another subject", ficsOf(a, testFIC("x", testIssuer, "system:serviceaccount:shop:other")), "a-id", ""},
		{"the nearest: a trailing slash", ficsOf(a, testFIC("x", strings.TrimSuffix(testIssuer, "/"), "system:serviceaccount:shop:other")), "a-id", ""},
		{"the nearest: a moved host", ficsOf(a, testFIC("x", "https://"+movedHosts[0]+"/oidc/tenant/c1/", "nope")), "a-id", ""},
		{"none near", ficsOf(a, testFIC("x", "https://elsewhere.example/", "nope")), "",
			"FAIL  no identity in subscription " + testSub + " has a federated credential for issuer " + testIssuer + " and subject " + subject},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var id client.Identity
			var ok bool
			out, failed := reported(func(r *report) { id, ok = identityTrustingCheck(r, tc.fics, testSub, testIssuer, subject) })
			if id.Name != tc.want || ok != (tc.want != "") || failed != 0 && ok {
				t.Errorf("checks %q (%v, %d failed), want %q:\n%s", id.Name, ok, failed, tc.want, out)
			}
			if (out == "") != (tc.output == "") {
				t.Errorf("printed %q, want %q", out, tc.output)
			}
			wantLines(t, out, tc.output)
		})
	}
	for _, v := range shellquotetest.Hostile {
		subject := "system:serviceaccount:" + v + ":app"
		out, failed := reported(func(r *report) { identityTrustingCheck(r, nil, testSub, testIssuer, subject) })
		if failed != 1 {
			t.Errorf("namespace %q: %d failed", v, failed)
		}
		shellquotetest.Commands(t, out, []string{"ward", "identity", "federated-credential", "create", "--name", "NAME", "--identity-name", "IDENTITY", "-g", "GROUP",
			"--issuer", testIssuer, "--subject", subject})
	}
}

// TestAdviseFederatedCredentials: the identity's credential that matches,
// or what differs in the nearest one and the command that fixes it.
func TestAdviseFederatedCredentials(t *testing.T) {
	t.Parallel()
	const subject = "system:serviceaccount:shop:app"
	id := testIdentity(hostileGroup, "app-id", "cid")
	create := []string{"ward", "identity", "federated-credential", "create", "--name", "NAME", "--identity-name", "app-id", "-g", hostileGroup, "--issuer", testIssuer, "--subject", subject}
	for _, tc := range []struct {
		name    string
		fics    []client.FederatedCredential
		want    string
		command []string
	}{
		{"match", []client.FederatedCredential{testFIC("other", testIssuer, "x"), testFIC("good", testIssuer, subject)}, `OK    federated credential "good" matches (issuer, subject, audience)`, nil},
		{"another subject", []client.FederatedCredential{testFIC("f", testIssuer, "system:serviceaccount:shop:web")},
			`FAIL  federated credential "f" has subject system:serviceaccount:shop:web, the pod runs as ` + subject, create},
		{"subject case", []client.FederatedCredential{testFIC("f", testIssuer, "system:serviceaccount:Shop:app")}, "(subjects are case-sensitive)", create},
		{"trailing slash", []client.FederatedCredential{testFIC("f", strings.TrimSuffix(testIssuer, "/"), subject)}, "(they differ only by the trailing '/')", create},
		{"audience", []client.FederatedCredential{testFIC("f", testIssuer, subject, "api://other")}, `FAIL  federated credential "f" has audiences [api://other], the token's is ` + audExchange,
			[]string{"ward", "identity", "federated-credential", "update", "--name", "f", "--identity-name", "app-id", "-g", hostileGroup, "--audiences", audExchange}},
		{"flexible refuses", []client.FederatedCredential{flexibleFIC("team", testIssuer, "claims['sub'] matches 'system:serviceaccount:web:*'")}, `FAIL  federated credential "team"`, create},
		{"flexible accepts", []client.FederatedCredential{flexibleFIC("team", testIssuer, "claims['sub'] matches 'system:serviceaccount:shop:*'")}, `OK    federated credential "team" matches (issuer, claims matching expression`, nil},
		{"none", nil, "FAIL  none of the 0 federated credential(s) of app-id trusts issuer " + testIssuer + " with subject " + subject, create},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, failed := reported(func(r *report) {
				adviseFederatedCredentials(r, tc.fics, id, hostileGroup, testIssuer, subject, audExchange)
			})
			wantLines(t, out, tc.want)
			if (failed > 0) != (tc.command != nil) {
				t.Errorf("%d failed:\n%s", failed, out)
			}
			if tc.command != nil {
				shellquotetest.Commands(t, out, tc.command)
			}
		})
	}
	// A hostile namespace, credential name and audience reach the fixes as
	// single words.
	for _, v := range shellquotetest.Hostile {
		subject := "system:serviceaccount:" + v + ":app"
		out, _ := reported(func(r *report) {
			adviseFederatedCredentials(r, []client.FederatedCredential{testFIC("other", testIssuer, "system:serviceaccount:shop:other")}, id, hostileGroup, testIssuer, subject, "aud"+v)
		})
		shellquotetest.Commands(t, out, []string{"ward", "identity", "federated-credential", "create", "--name", "NAME", "--identity-name", "app-id", "-g", hostileGroup,
			"--issuer", testIssuer, "--subject", subject})
		out, _ = reported(func(r *report) {
			adviseFederatedCredentials(r, []client.FederatedCredential{testFIC("f"+v, testIssuer, subject)}, id, hostileGroup, testIssuer, subject, "aud"+v)
		})
		shellquotetest.Commands(t, out, []string{"ward", "identity", "federated-credential", "update", "--name", "f" + v, "--identity-name", "app-id", "-g", hostileGroup, "--audiences", "aud" + v})
	}
}

func TestAdviseRoles(t *testing.T) {
	t.Parallel()
	for _, v := range shellquotetest.Hostile {
		id := testIdentity(hostileGroup, "app-id", "cid"+v)
		out, failed := reported(func(r *report) { adviseRoles(r, id, nil, nil) })
		if failed != 1 || !strings.Contains(out, "FAIL  app-id has no role assignments: it can sign in but is allowed nothing") {
			t.Errorf("no roles: %d failed\n%s", failed, out)
		}
		shellquotetest.Commands(t, out, []string{"ward", "role", "assignment", "create", "--assignee", "cid" + v, "--role", "Key Vault Secrets User", "--scope", "VAULT_ID"})
	}
	var a client.RoleAssignment
	a.Properties.RoleDefinitionID = "/providers/Microsoft.Authorization/roleDefinitions/ACDD72A7-3385-48EF-BD42-F606FBA81AE7"
	a.Properties.Scope = "/subscriptions/" + testSub
	defs := []client.RoleDefinition{{Name: "acdd72a7-3385-48ef-bd42-f606fba81ae7", Properties: client.RoleDefinitionProperties{RoleName: "Reader"}}}
	out, failed := reported(func(r *report) { adviseRoles(r, testIdentity("rg", "app-id", "cid"), []client.RoleAssignment{a}, defs) })
	if failed != 0 || out != `OK    role "Reader" at /subscriptions/`+testSub+"\n" {
		t.Errorf("one role: %d failed\n%s", failed, out)
	}
}

// TestIdentityTrusting is ward run's choice of identity when --client-id
// is not given.
func TestIdentityTrusting(t *testing.T) {
	t.Parallel()
	const subject = "system:serviceaccount:shop:app"
	a, b := testIdentity("rg", "a-id", "cid-a"), testIdentity("rg", "b-id", "cid-b")
	for _, tc := range []struct {
		name    string
		fics    []ficOf
		want    string
		wantErr string
	}{
		{"one", append(ficsOf(a, testFIC("x", testIssuer, "system:serviceaccount:shop:web")), ficsOf(b, testFIC("y", testIssuer, subject))...), "cid-b", ""},
		{"one identity, two credentials", ficsOf(a, testFIC("x", testIssuer, subject), flexibleFIC("y", testIssuer, "claims['sub'] matches 'system:serviceaccount:*:app'")), "cid-a", ""},
		{"flexible", ficsOf(b, flexibleFIC("y", testIssuer, "claims['sub'] matches 'system:serviceaccount:shop:*'")), "cid-b", ""},
		{"another issuer", ficsOf(a, testFIC("x", strings.TrimSuffix(testIssuer, "/"), subject)), "", "no identity has a federated credential for issuer " + testIssuer + " and subject " + subject},
		{"several", append(ficsOf(a, testFIC("x", testIssuer, subject)), ficsOf(b, testFIC("y", testIssuer, subject))...), "",
			"several identities trust " + subject + ": a-id (cid-a), b-id (cid-b); choose one with --client-id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := identityTrusting(tc.fics, testIssuer, subject)
			wantErr(t, tc.name, err, tc.wantErr)
			if got != tc.want {
				t.Errorf("client ID %q, want %q", got, tc.want)
			}
		})
	}
	for _, v := range shellquotetest.Hostile {
		subject := "system:serviceaccount:" + v + ":app"
		_, err := identityTrusting(ficsOf(a, testFIC("x", testIssuer+v, "system:serviceaccount:shop:app")), testIssuer+v, subject)
		if err == nil {
			t.Fatalf("identityTrusting(%q) found an identity", subject)
		}
		shellquotetest.Commands(t, err.Error(), []string{"ward", "identity", "federated-credential", "create", "--name", "NAME", "--identity-name", "IDENTITY", "-g", "GROUP",
			"--issuer", testIssuer + v, "--subject", subject})
	}
}

// TestAPIServerFlags: each flag line is one shell word; without an issuer
// the error holds the command that enables it.
func TestAPIServerFlags(t *testing.T) {
	t.Parallel()
	for _, v := range shellquotetest.Hostile {
		_, err := apiServerFlags(v, hostileGroup, "")
		if err == nil {
			t.Fatal("no error without an issuer")
		}
		shellquotetest.Commands(t, err.Error(), []string{"ward", "aks", "update", "-n", v, "-g", hostileGroup, "--enable-oidc-issuer"})
	}
	iss := "https://ward.example:8443/oidc/tenant/c'1/"
	lines, err := apiServerFlags("c1", "rg", iss)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"--service-account-issuer=" + iss, "--service-account-jwks-uri=" + iss + "openid/v1/jwks",
		"--service-account-signing-key-file=/etc/kubernetes/pki/ward-sa.key", "--service-account-key-file=/etc/kubernetes/pki/ward-sa.pub"}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d: %q", len(lines), len(want), lines)
	}
	for i, l := range lines {
		shellquotetest.Args(t, "kube-apiserver "+l, []string{"kube-apiserver", want[i]}, "kube-apiserver")
	}
}

// TestAdviseIssuerMoved: a token whose issuer is a Ward cluster's at
// another host:port (the doctor with a kubeconfig) gets a command for the
// old host and one for the cluster.
func TestAdviseIssuerMoved(t *testing.T) {
	t.Parallel()
	clusters := []client.Cluster{testCluster("rg", "plain", "", false), testCluster(hostileGroup, "c1", testIssuer, true)}
	for _, host := range movedHosts {
		iss := "https://" + host + "/oidc/tenant/c1/"
		out, failed := reported(func(r *report) { adviseIssuerMoved(r, clusters, iss) })
		if failed != 1 || !strings.Contains(out, "FAIL  the token's issuer "+iss+" is cluster c1's issuer as it was before Ward's public URL changed; it is now "+testIssuer) {
			t.Errorf("token of %s: %d failed\n%s", iss, failed, out)
		}
		shellquotetest.Commands(t, out, []string{"ward", "serve", "--public-url", "https://" + host}, []string{"ward", "aks", "show-apiserver-flags", "-n", "c1", "-g", hostileGroup})
	}
	for _, iss := range []string{testIssuer, "https://elsewhere.example/", "https://other.example/oidc/tenant/c2/"} {
		if out, failed := reported(func(r *report) { adviseIssuerMoved(r, clusters, iss) }); out != "" || failed != 0 {
			t.Errorf("token of %s: %d failed\n%s", iss, failed, out)
		}
	}
}
