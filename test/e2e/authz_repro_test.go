package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/google/uuid"
)

// Built-in role IDs used below.
const (
	ownerRole         = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
	readerRole        = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
	miOperatorRole    = "f1a07417-d97a-45cb-824c-7a7467783830"
	appAdminRole      = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"
	appDeveloperRole  = "cf1c38e5-3621-4004-a7cb-879624dced7c"
	reportsReaderRole = "4a5d8f65-41da-4de4-8968-e035b65339cf"
)

func (w *ward) credentialOf(t *testing.T, p principal) azcore.TokenCredential {
	t.Helper()
	cred, err := azidentity.NewClientSecretCredential(w.admin.TenantID, p.AppID, p.Secret,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: policy.ClientOptions{Cloud: w.cloudConfig(), Transport: w.http}, DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

func statusOf(t *testing.T, err error) (int, string) {
	t.Helper()
	if err == nil {
		return 0, ""
	}
	re := respErr(t, err)
	return re.StatusCode, re.ErrorCode
}

// TestDirectoryAuthorization: the directory API is authorized by RBAC. A
// principal with no role cannot take over the admin (the reported attack),
// list others, create, delete, rotate keys or read the sign-in log; an
// Application Developer owns and manages what it creates; an Application
// Administrator manages every principal except those holding roles it
// could not assign itself; the admin manages everything.
func TestDirectoryAuthorization(t *testing.T) {
	t.Parallel()
	w := startWard(t, "")
	noroles := w.newPrincipal(t, "noroles")
	nr := w.tokenFor(t, noroles, "https://graph.microsoft.com/.default")
	admin := w.graphToken(t)

	// The reported attack: addPassword on the admin.
	for _, path := range []string{"/v1.0/servicePrincipals(appId='" + w.admin.ClientID + "')/addPassword", "/v1.0/servicePrincipals/" + w.admin.ClientID + "/addPassword"} {
		if st, b := w.raw(t, nr, "POST", "", path, `{}`); st != 404 || b["error"].(map[string]any)["code"] != "Request_ResourceNotFound" {
			t.Fatalf("noroles addPassword on the admin: %d %v", st, b)
		}
	}
	checks := []struct {
		method, path, body string
		want               int
	}{
		{"POST", "/v1.0/servicePrincipals", `{"displayName":"x"}`, 403},
		{"GET", "/v1.0/servicePrincipals/" + w.admin.ClientID, "", 404},
		{"DELETE", "/v1.0/servicePrincipals/" + w.admin.ClientID, "", 404},
		{"POST", "/ward/v1/keys/rotate", "", 403},
		{"GET", "/v1.0/auditLogs/signIns", "", 403},
		{"GET", "/v1.0/servicePrincipals/" + noroles.ObjectID, "", 200}, // itself
	}
	for _, c := range checks {
		if st, b := w.raw(t, nr, c.method, "", c.path, c.body); st != c.want {
			t.Errorf("noroles %s %s: %d %v, want %d", c.method, c.path, st, b, c.want)
		}
	}
	if st, b := w.raw(t, nr, "POST", "", "/v1.0/servicePrincipals", `{"displayName":"x"}`); st != 403 || !strings.Contains(fmt.Sprint(b), "Microsoft.Directory/servicePrincipals/create") {
		t.Errorf("the refusal names the action: %v", b)
	}
	// The admin's secret still works and only the admin's own secrets exist.
	if st, b := w.raw(t, admin, "GET", "", "/v1.0/servicePrincipals(appId='"+w.admin.ClientID+"')", ""); st != 200 || len(b["passwordCredentials"].([]any)) != 1 {
		t.Fatalf("admin after the attempts: %d %v", st, b)
	}

	// An Application Developer creates a principal, owns it, resets its
	// secret, and cannot touch others.
	dev := w.newPrincipal(t, "dev")
	w.assign(t, dev.ObjectID, "/", appDeveloperRole)
	dt := w.tokenFor(t, dev, "https://graph.microsoft.com/.default")
	st, app := w.raw(t, dt, "POST", "", "/v1.0/servicePrincipals", `{"displayName":"dev-app"}`)
	if st != 201 {
		t.Fatalf("developer create: %d %v", st, app)
	}
	appID := app["appId"].(string)
	if st, b := w.raw(t, dt, "POST", "", "/v1.0/servicePrincipals(appId='"+appID+"')/addPassword", `{}`); st != 200 || b["secretText"] == nil {
		t.Fatalf("owner resets its app's secret: %d %v", st, b)
	}
	if st, b := w.raw(t, dt, "GET", "", "/v1.0/servicePrincipals", ""); st != 200 || len(b["value"].([]any)) != 2 {
		t.Fatalf("developer sees itself and its app: %d %v", st, b)
	}
	if st, _ := w.raw(t, dt, "POST", "", "/v1.0/servicePrincipals/"+noroles.ObjectID+"/addPassword", `{}`); st != 404 {
		t.Fatalf("developer on another principal: %d", st)
	}
	// The ownership is an ordinary role assignment at the app's scope.
	st, list, _ := w.request("GET", "/providers/Microsoft.Directory/servicePrincipals/"+app["id"].(string)+"/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$filter=atScope()", "")
	if st != 200 || !strings.Contains(fmt.Sprint(list), dev.ObjectID) {
		t.Fatalf("owner assignment: %d %v", st, list)
	}
	if st, _ := w.raw(t, dt, "DELETE", "", "/v1.0/servicePrincipals(appId='"+appID+"')", ""); st != 204 {
		t.Fatalf("owner deletes its app: %d", st)
	}

	// An Application Administrator manages principals, but not one that
	// holds a role it could not assign itself (the admin: Owner at '/').
	appAdmin := w.newPrincipal(t, "app-admin")
	w.assign(t, appAdmin.ObjectID, "/", appAdminRole)
	at := w.tokenFor(t, appAdmin, "https://graph.microsoft.com/.default")
	if st, b := w.raw(t, at, "POST", "", "/v1.0/servicePrincipals/"+noroles.ObjectID+"/addPassword", `{}`); st != 200 {
		t.Fatalf("app admin on a principal without roles: %d %v", st, b)
	}
	st, b := w.raw(t, at, "POST", "", "/v1.0/servicePrincipals(appId='"+w.admin.ClientID+"')/addPassword", `{}`)
	if st != 403 || !strings.Contains(fmt.Sprint(b), "Microsoft.Authorization/roleAssignments/write") {
		t.Fatalf("app admin on the admin: %d %v", st, b)
	}
	// Reports Reader reads the sign-in log and nothing else.
	rr := w.newPrincipal(t, "reports")
	w.assign(t, rr.ObjectID, "/", reportsReaderRole)
	rt := w.tokenFor(t, rr, "https://graph.microsoft.com/.default")
	if st, _ := w.raw(t, rt, "GET", "", "/v1.0/auditLogs/signIns", ""); st != 200 {
		t.Fatalf("reports reader: %d", st)
	}
	if st, _ := w.raw(t, rt, "POST", "", "/ward/v1/keys/rotate", ""); st != 403 {
		t.Fatalf("reports reader rotates: %d", st)
	}
	// The admin manages every principal.
	if st, _ := w.raw(t, admin, "POST", "", "/v1.0/servicePrincipals/"+appAdmin.ObjectID+"/addPassword", `{}`); st != 200 {
		t.Fatalf("admin: %d", st)
	}
	// The CLI's create-for-rbac with a role still needs roleAssignments/write.
	if _, errOut, code := w.cli("ad", "sp", "create-for-rbac", "-n", "cli-sp", "--role", "Reader", "--scopes", "/subscriptions/"+w.admin.SubscriptionID); code != 0 {
		t.Fatalf("admin create-for-rbac: %s", errOut)
	}
}

// TestRoleOperationsAreScopeBound: role assignments are addressed at their
// own scope, and custom roles are changed only by callers holding
// roleDefinitions/write at every assignable scope — with the real
// armauthorization client, through the paths of the report.
func TestRoleOperationsAreScopeBound(t *testing.T) {
	t.Parallel()
	w := startWard(t, "")
	ctx := context.Background()
	sub := "/subscriptions/" + w.admin.SubscriptionID
	for _, g := range []string{"rg1", "rg2"} {
		if st, b, _ := w.request("PUT", sub+"/resourceGroups/"+g+"?api-version=2021-04-01", `{"location":"westeurope"}`); st != 201 {
			t.Fatalf("group: %d %v", st, b)
		}
	}
	rg1 := sub + "/resourceGroups/rg1"
	o1 := w.newPrincipal(t, "o1")
	w.assign(t, o1.ObjectID, rg1, ownerRole)
	reader := w.newPrincipal(t, "reader")
	readerAssignment := w.assign(t, reader.ObjectID, sub, readerRole)
	o1Assignments, _ := armauthorization.NewRoleAssignmentsClient(w.admin.SubscriptionID, w.credentialOf(t, o1), w.armOptions())
	o1Defs, _ := armauthorization.NewRoleDefinitionsClient(w.credentialOf(t, o1), w.armOptions())

	// 2. Through rg1's path, the subscription's assignment does not exist.
	if _, err := o1Assignments.Get(ctx, rg1, readerAssignment, nil); err == nil {
		t.Fatal("o1 read reader's subscription assignment through rg1")
	} else if st, code := statusOf(t, err); st != 404 || code != "RoleAssignmentNotFound" {
		t.Fatalf("get through rg1: %d %s", st, code)
	}
	// A delete through rg1 is 404 too, and leaves it.
	if _, err := o1Assignments.Delete(ctx, rg1, readerAssignment, nil); err == nil {
		t.Fatal("o1 deleted reader's subscription assignment through rg1")
	} else if st, code := statusOf(t, err); st != 404 || code != "RoleAssignmentNotFound" {
		t.Fatalf("delete through rg1: %d %s", st, code)
	}
	if st, b, _ := w.request("GET", sub+"/providers/Microsoft.Authorization/roleAssignments/"+readerAssignment+"?api-version=2022-04-01", ""); st != 200 {
		t.Fatalf("reader's assignment after o1's delete: %d %v", st, b)
	}
	adminAssignments := w.cliQuery(t, "role", "assignment", "list", "--scope", "/", "--query", "[0].name", "-o", "tsv")
	if _, err := o1Assignments.Get(ctx, rg1, strings.TrimSpace(adminAssignments), nil); err == nil {
		t.Fatal("o1 read the admin's root assignment through rg1")
	}
	// Legitimate: o1 manages assignments at rg1.
	newID := uuid.NewString()
	if _, err := o1Assignments.Create(ctx, rg1, newID, armauthorization.RoleAssignmentCreateParameters{Properties: &armauthorization.RoleAssignmentProperties{
		RoleDefinitionID: to.Ptr(sub + "/providers/Microsoft.Authorization/roleDefinitions/" + readerRole), PrincipalID: to.Ptr(reader.ObjectID)}}, nil); err != nil {
		t.Fatalf("o1 assigns at rg1: %v", err)
	}
	if _, err := o1Assignments.Get(ctx, rg1, newID, nil); err != nil {
		t.Fatalf("o1 reads its rg1 assignment: %v", err)
	}
	if _, err := o1Assignments.Delete(ctx, rg1, newID, nil); err != nil {
		t.Fatalf("o1 deletes at rg1: %v", err)
	}

	// 3. A custom role assignable at the subscription, assigned to o1 there.
	roleID := uuid.NewString()
	adminDefs, _ := armauthorization.NewRoleDefinitionsClient(w.adminCredential(), w.armOptions())
	def := func(scopes []string, actions ...string) armauthorization.RoleDefinition {
		acts := make([]*string, len(actions))
		for i := range actions {
			acts[i] = to.Ptr(actions[i])
		}
		sc := make([]*string, len(scopes))
		for i := range scopes {
			sc[i] = to.Ptr(scopes[i])
		}
		return armauthorization.RoleDefinition{Properties: &armauthorization.RoleDefinitionProperties{RoleName: to.Ptr("sub reader " + roleID[:8]),
			AssignableScopes: sc, Permissions: []*armauthorization.Permission{{Actions: acts}}}}
	}
	if _, err := adminDefs.CreateOrUpdate(ctx, sub, roleID, def([]string{sub}, "*/read"), nil); err != nil {
		t.Fatal(err)
	}
	w.assign(t, o1.ObjectID, sub, roleID)
	// The attack: rewrite it through rg1 to everything everywhere.
	_, err := o1Defs.CreateOrUpdate(ctx, rg1, roleID, def([]string{"/"}, "*"), nil)
	if st, _ := statusOf(t, err); st != 400 && st != 403 {
		t.Fatalf("o1 rewrote the subscription role through rg1: %v", err)
	}
	_, err = o1Defs.CreateOrUpdate(ctx, sub, roleID, def([]string{sub}, "*"), nil)
	if st, code := statusOf(t, err); st != 403 || code != "AuthorizationFailed" {
		t.Fatalf("o1 rewrote the subscription role at the subscription: %v", err)
	}
	if _, err := o1Defs.Delete(ctx, rg1, roleID, nil); err == nil {
		t.Fatal("o1 deleted the subscription role through rg1")
	}
	// Legitimate: o1 creates a role assignable at rg1 and assigns it there.
	mine := uuid.NewString()
	if _, err := o1Defs.CreateOrUpdate(ctx, rg1, mine, def([]string{rg1}, "Microsoft.ManagedIdentity/userAssignedIdentities/read"), nil); err != nil {
		t.Fatalf("o1 creates an rg1 role: %v", err)
	}
	inRG := uuid.NewString()
	if _, err := o1Assignments.Create(ctx, rg1, inRG, armauthorization.RoleAssignmentCreateParameters{Properties: &armauthorization.RoleAssignmentProperties{
		RoleDefinitionID: to.Ptr("/providers/Microsoft.Authorization/roleDefinitions/" + mine), PrincipalID: to.Ptr(reader.ObjectID)}}, nil); err != nil {
		t.Fatalf("o1 assigns its role at rg1: %v", err)
	}
	// Not assignable outside its scopes, even by the admin.
	adminAssign, _ := armauthorization.NewRoleAssignmentsClient(w.admin.SubscriptionID, w.adminCredential(), w.armOptions())
	_, err = adminAssign.Create(ctx, sub, uuid.NewString(), armauthorization.RoleAssignmentCreateParameters{Properties: &armauthorization.RoleAssignmentProperties{
		RoleDefinitionID: to.Ptr("/providers/Microsoft.Authorization/roleDefinitions/" + mine), PrincipalID: to.Ptr(reader.ObjectID)}}, nil)
	if st, code := statusOf(t, err); st != 400 || code != "InvalidRoleAssignmentScope" {
		t.Fatalf("assignment outside the role's scopes: %v", err)
	}
	// Used roles are not deleted; '/' needs an Owner at '/'.
	if _, err := o1Defs.Delete(ctx, rg1, mine, nil); err == nil {
		t.Fatal("deleted a role in use")
	} else if st, code := statusOf(t, err); st != 409 || code != "RoleDefinitionHasAssignments" {
		t.Fatalf("delete in use: %d %s", st, code)
	}
	if _, err := o1Defs.CreateOrUpdate(ctx, rg1, uuid.NewString(), def([]string{"/", rg1}, "*/read"), nil); err == nil {
		t.Fatal("o1 made a role assignable at '/'")
	}
	if _, err := o1Assignments.Delete(ctx, rg1, inRG, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := o1Defs.Delete(ctx, rg1, mine, nil); err != nil {
		t.Fatalf("o1 deletes its unused role: %v", err)
	}
}

func (w *ward) cliQuery(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := w.cli(args...)
	if code != 0 {
		t.Fatalf("ward %v: %s", args, errOut)
	}
	return out
}

// TestClusterSideEffects: a cluster never adopts an existing node resource
// group or its identities, deletes only what it created, and attaching a
// user-assigned identity needs assign/action on it.
func TestClusterSideEffects(t *testing.T) {
	t.Parallel()
	w := startWard(t, "")
	sub := "/subscriptions/" + w.admin.SubscriptionID
	for _, g := range []string{"rg2", "rg5", "MC_rg5_evil_westeurope"} {
		if st, b, _ := w.request("PUT", sub+"/resourceGroups/"+g+"?api-version=2021-04-01", `{"location":"westeurope"}`); st != 201 {
			t.Fatalf("group %s: %d %v", g, st, b)
		}
	}
	mcIdentity := sub + "/resourceGroups/MC_rg5_evil_westeurope/providers/Microsoft.ManagedIdentity/userAssignedIdentities/evil-agentpool"
	prodID := sub + "/resourceGroups/rg2/providers/Microsoft.ManagedIdentity/userAssignedIdentities/prod-id"
	for _, id := range []string{mcIdentity, prodID} {
		if st, b, _ := w.request("PUT", id+"?api-version=2023-01-31", `{"location":"westeurope"}`); st != 201 {
			t.Fatalf("identity: %d %v", st, b)
		}
	}
	o5 := w.newPrincipal(t, "o5")
	w.assign(t, o5.ObjectID, sub+"/resourceGroups/rg5", ownerRole)
	tok := w.tokenFor(t, o5, "https://management.azure.com/.default")
	cluster := func(name string) string {
		return sub + "/resourceGroups/rg5/providers/Microsoft.ContainerService/managedClusters/" + name + "?api-version=2024-05-01"
	}

	// 4. Creating "evil" would adopt the admin's group: refused.
	st, b := w.raw(t, tok, "PUT", "", cluster("evil"), `{"location":"westeurope"}`)
	if st != 409 || errorCode(b) != "NodeResourceGroupAlreadyExists" {
		t.Fatalf("cluster over an existing node group: %d %v", st, b)
	}
	if st, _, _ := w.request("GET", mcIdentity+"?api-version=2023-01-31", ""); st != 200 {
		t.Fatalf("the admin's identity after the refused cluster: %d", st)
	}
	// 5. Attaching rg2's identity needs assign/action on it.
	body := `{"location":"westeurope","identity":{"type":"UserAssigned","userAssignedIdentities":{"` + prodID + `":{}}},"properties":{"identityProfile":{"kubeletidentity":{"resourceId":"` + prodID + `"}}}}`
	st, b = w.raw(t, tok, "PUT", "", cluster("good"), body)
	if st != 403 || errorCode(b) != "LinkedAuthorizationFailed" || strings.Contains(fmt.Sprint(b), "clientId") {
		t.Fatalf("cluster with a foreign identity: %d %v", st, b)
	}
	w.assign(t, o5.ObjectID, prodID, miOperatorRole)
	if st, b = w.raw(t, tok, "PUT", "", cluster("good"), body); st != 201 {
		t.Fatalf("cluster with an identity o5 may assign: %d %v", st, b)
	}
	// Legitimate: a cluster o5 creates, and deletes with its node group.
	if st, b = w.raw(t, tok, "PUT", "", cluster("mine"), `{"location":"westeurope"}`); st != 201 {
		t.Fatalf("o5's cluster: %d %v", st, b)
	}
	nodeGroup := b["properties"].(map[string]any)["nodeResourceGroup"].(string)
	if st, b = w.raw(t, tok, "DELETE", "", cluster("mine"), ""); st != 202 { // AKS deletes as a long-running operation
		t.Fatalf("delete o5's cluster: %d %v", st, b)
	}
	if st, _, _ := w.request("GET", sub+"/resourceGroups/"+nodeGroup+"?api-version=2021-04-01", ""); st != 404 {
		t.Fatalf("node group after the cluster's deletion: %d", st)
	}
	// Deleting the cluster that uses given identities keeps them.
	if st, b = w.raw(t, tok, "DELETE", "", cluster("good"), ""); st != 202 {
		t.Fatalf("delete good: %d %v", st, b)
	}
	for _, id := range []string{prodID, mcIdentity} {
		if st, _, _ := w.request("GET", id+"?api-version=2023-01-31", ""); st != 200 {
			t.Fatalf("%s after cluster deletions: %d", id, st)
		}
	}
}

// TestSlowBodyIsCut: a body trickled a byte at a time does not hold a
// connection open past the read deadline.
func TestSlowBodyIsCut(t *testing.T) {
	t.Parallel()
	skipIfShort(t, "waits out the server's body deadline")
	w := startWard(t, "")
	pem, err := os.ReadFile(filepath.Join(w.dataDir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	conn, err := tls.Dial("tcp", w.addr, &tls.Config{RootCAs: pool, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	fmt.Fprintf(conn, "POST /%s/oauth2/v2.0/token HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n", w.admin.TenantID, w.addr)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = conn.SetReadDeadline(time.Now().Add(45 * time.Second))
		b, _ := io.ReadAll(conn)
		t.Logf("after %v the server answered %q", time.Since(start), b)
	}()
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-done:
			if d := time.Since(start); d > 30*time.Second {
				t.Fatalf("connection held for %v", d)
			}
			return
		case <-tick.C:
			if _, err := conn.Write([]byte("a")); err != nil {
				if d := time.Since(start); d > 30*time.Second {
					t.Fatalf("connection held for %v", d)
				}
				return
			}
			if time.Since(start) > 45*time.Second {
				t.Fatal("the server still reads a trickled body after 45 s")
			}
		}
	}
}
