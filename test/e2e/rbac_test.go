package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
	"github.com/google/uuid"
)

// TestRBACWithArmAuthorization drives role definitions and assignments with
// the real armauthorization/v2 client and checks enforcement on the next
// request after each change.
func TestRBACWithArmAuthorization(t *testing.T) {
	t.Parallel()
	w := startWard(t, "")
	ctx := context.Background()
	admin := w.adminCredential()
	sub := "/subscriptions/" + w.admin.SubscriptionID
	rgScope := sub + "/resourceGroups/team-rg"
	groups, _ := armresources.NewResourceGroupsClient(w.admin.SubscriptionID, admin, w.armOptions())
	if _, err := groups.CreateOrUpdate(ctx, "team-rg", armresources.ResourceGroup{Location: to.Ptr("westeurope")}, nil); err != nil {
		t.Fatal(err)
	}
	defs, _ := armauthorization.NewRoleDefinitionsClient(admin, w.armOptions())
	assignments, _ := armauthorization.NewRoleAssignmentsClient(w.admin.SubscriptionID, admin, w.armOptions())

	roleID := func(name string) string {
		pager := defs.NewListPager(sub, &armauthorization.RoleDefinitionsClientListOptions{Filter: to.Ptr("roleName eq '" + name + "'")})
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Value) != 1 {
			t.Fatalf("role %q: %d definitions", name, len(page.Value))
		}
		return *page.Value[0].ID
	}
	if id := roleID("Key Vault Secrets User"); !strings.HasSuffix(id, "/4633458b-17de-408a-b874-0445c86b69e6") {
		t.Fatalf("Key Vault Secrets User id = %s", id)
	}
	builtIns := defs.NewListPager(sub, &armauthorization.RoleDefinitionsClientListOptions{Filter: to.Ptr("type eq 'BuiltInRole'")})
	page, err := builtIns.NextPage(ctx)
	if err != nil || len(page.Value) < 15 {
		t.Fatalf("built-in roles: %d, %v", len(page.Value), err)
	}

	// A developer service principal with no role yet.
	out, errOut, code := w.cli("ad", "sp", "create-for-rbac", "-n", "dev")
	if code != 0 {
		t.Fatal(errOut)
	}
	var sp struct{ AppID, Password string }
	json.Unmarshal([]byte(out), &sp)
	objectID := strings.TrimSpace(mustCLI(t, w, "ad", "sp", "show", "--id", sp.AppID, "--query", "id", "-o", "tsv"))
	dev, _ := azidentity.NewClientSecretCredential(w.admin.TenantID, sp.AppID, sp.Password,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: policy.ClientOptions{Cloud: w.cloudConfig(), Transport: w.http}, DisableInstanceDiscovery: true})
	devIDs, _ := armmsi.NewUserAssignedIdentitiesClient(w.admin.SubscriptionID, dev, w.armOptions())
	devAssignments, _ := armauthorization.NewRoleAssignmentsClient(w.admin.SubscriptionID, dev, w.armOptions())
	createIdentity := func(name string) error {
		_, err := devIDs.CreateOrUpdate(ctx, "team-rg", name, armmsi.Identity{Location: to.Ptr("westeurope")}, nil)
		return err
	}
	if re := respErr(t, createIdentity("before")); re.StatusCode != 403 || re.ErrorCode != "AuthorizationFailed" ||
		!strings.Contains(re.Error(), "Microsoft.ManagedIdentity/userAssignedIdentities/write") {
		t.Fatalf("no role: %d %s", re.StatusCode, re.ErrorCode)
	}

	// Contributor on the group: the very next request is allowed.
	name := uuid.NewString()
	var resp *http.Response
	cctx := policy.WithCaptureResponse(ctx, &resp)
	created, err := assignments.Create(cctx, rgScope, name, armauthorization.RoleAssignmentCreateParameters{Properties: &armauthorization.RoleAssignmentProperties{
		PrincipalID: to.Ptr(objectID), RoleDefinitionID: to.Ptr(roleID("Contributor")), PrincipalType: to.Ptr(armauthorization.PrincipalTypeServicePrincipal)}}, nil)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("create assignment: %v", err)
	}
	if !strings.EqualFold(*created.Properties.Scope, rgScope) || *created.Name != name {
		t.Fatalf("assignment = %+v", created.Properties)
	}
	if err := createIdentity("after"); err != nil {
		t.Fatalf("Contributor cannot write identities: %v", err)
	}
	// Not outside the group.
	devGroups, _ := armresources.NewResourceGroupsClient(w.admin.SubscriptionID, dev, w.armOptions())
	if _, err := devGroups.CreateOrUpdate(ctx, "other-rg", armresources.ResourceGroup{Location: to.Ptr("westeurope")}, nil); respErr(t, err).StatusCode != 403 {
		t.Fatal("Contributor on a group created another group")
	}
	// Contributor cannot manage role assignments.
	_, err = devAssignments.Create(ctx, rgScope, uuid.NewString(), armauthorization.RoleAssignmentCreateParameters{Properties: &armauthorization.RoleAssignmentProperties{
		PrincipalID: to.Ptr(objectID), RoleDefinitionID: to.Ptr(roleID("Owner"))}}, nil)
	if re := respErr(t, err); re.StatusCode != 403 || !strings.Contains(re.Error(), "Microsoft.Authorization/roleAssignments/write") {
		t.Fatalf("Contributor wrote a role assignment: %v", err)
	}

	// Errors as ARM's.
	bad := func(scope, name, principal, role string) *http.Response {
		_, err := assignments.Create(ctx, scope, name, armauthorization.RoleAssignmentCreateParameters{Properties: &armauthorization.RoleAssignmentProperties{
			PrincipalID: to.Ptr(principal), RoleDefinitionID: to.Ptr(role)}}, nil)
		re := respErr(t, err)
		return re.RawResponse
	}
	for _, tc := range []struct {
		name, scope, assignment, principal, role string
		status                                   int
		code                                     string
	}{
		{"duplicate", rgScope, uuid.NewString(), objectID, roleID("Contributor"), 409, "RoleAssignmentExists"},
		{"name not a GUID", rgScope, "not-a-guid", objectID, roleID("Reader"), 400, "InvalidRoleAssignmentId"},
		{"unknown principal", rgScope, uuid.NewString(), uuid.NewString(), roleID("Reader"), 400, "PrincipalNotFound"},
		{"unknown role", rgScope, uuid.NewString(), objectID, sub + "/providers/Microsoft.Authorization/roleDefinitions/" + uuid.NewString(), 404, "RoleDefinitionDoesNotExist"},
		{"missing scope", sub + "/resourceGroups/nope", uuid.NewString(), objectID, roleID("Reader"), 404, "ResourceGroupNotFound"},
	} {
		r := bad(tc.scope, tc.assignment, tc.principal, tc.role)
		var body struct{ Error struct{ Code string } }
		json.NewDecoder(r.Body).Decode(&body)
		if r.StatusCode != tc.status || body.Error.Code != tc.code {
			t.Errorf("%s: %d %s, want %d %s", tc.name, r.StatusCode, body.Error.Code, tc.status, tc.code)
		}
	}

	// List with the SDK's unencoded $filter (raw spaces; needs HTTP/2).
	pager := assignments.NewListForScopePager(rgScope, &armauthorization.RoleAssignmentsClientListForScopeOptions{Filter: to.Ptr("principalId eq '" + objectID + "'")})
	lp, err := pager.NextPage(ctx)
	if err != nil || len(lp.Value) != 1 || *lp.Value[0].Name != name {
		t.Fatalf("list by principal: %v %d", err, len(lp.Value))
	}
	atScope := assignments.NewListForScopePager(rgScope, &armauthorization.RoleAssignmentsClientListForScopeOptions{Filter: to.Ptr("atScope()")})
	if lp, err = atScope.NextPage(ctx); err != nil || len(lp.Value) != 3 { // admin's Owner and Secrets Officer at /, dev's Contributor
		t.Fatalf("atScope(): %v %d", err, len(lp.Value))
	}

	// Delete: 200 with the body; access is gone on the next request.
	del, err := assignments.Delete(cctx, rgScope, name, nil)
	if err != nil || resp.StatusCode != 200 || *del.Name != name {
		t.Fatalf("delete: %v %d", err, resp.StatusCode)
	}
	if re := respErr(t, createIdentity("revoked")); re.StatusCode != 403 {
		t.Fatalf("after revocation: %d", re.StatusCode)
	}
	if _, err := assignments.Delete(cctx, rgScope, name, nil); err != nil || resp.StatusCode != 204 {
		t.Fatalf("second delete: %v %d", err, resp.StatusCode)
	}

	// The CLI speaks like az.
	if got := strings.TrimSpace(mustCLI(t, w, "role", "definition", "list", "--name", "AcrPull", "--query", "[0].name", "-o", "tsv")); got != "7f951dda-4ed3-4680-a7ca-43fe172d538d" {
		t.Fatalf("role definition list --name AcrPull = %q", got)
	}
	mustCLI(t, w, "role", "assignment", "create", "--assignee", sp.AppID, "--role", "Managed Identity Contributor", "--scope", rgScope)
	table := mustCLI(t, w, "role", "assignment", "list", "--assignee", sp.AppID, "--scope", rgScope, "--query", "[].{Role:roleDefinitionName, Scope:scope}", "-o", "tsv")
	if !strings.Contains(table, "Managed Identity Contributor\t"+rgScope) {
		t.Fatalf("role assignment list: %q", table)
	}
	if err := createIdentity("via-cli-role"); err != nil {
		t.Fatalf("Managed Identity Contributor cannot create identities: %v", err)
	}
	mustCLI(t, w, "role", "assignment", "delete", "--assignee", sp.AppID, "--role", "Managed Identity Contributor", "--scope", rgScope)
	if re := respErr(t, createIdentity("after-cli-delete")); re.StatusCode != 403 {
		t.Fatalf("after CLI delete: %d", re.StatusCode)
	}

	// The activity log has every write, refused ones included, with the caller.
	failed := mustCLI(t, w, "monitor", "activity-log", "list", "--offset", "1h", "--query", "[?status.value=='Failed' && caller=='"+sp.AppID+"'].operationName.value", "-o", "tsv")
	if !strings.Contains(failed, "Microsoft.ManagedIdentity/userAssignedIdentities/write") || !strings.Contains(failed, "Microsoft.Authorization/roleAssignments/write") {
		t.Fatalf("failed writes in the activity log:\n%s", failed)
	}
	ok := mustCLI(t, w, "monitor", "activity-log", "list", "--offset", "1h", "--query", "[?status.value=='Succeeded' && caller=='"+w.admin.ClientID+"'].operationName.value", "-o", "tsv")
	if !strings.Contains(ok, "Microsoft.Authorization/roleAssignments/write") || !strings.Contains(ok, "Microsoft.Authorization/roleAssignments/delete") {
		t.Fatalf("admin writes in the activity log:\n%s", ok)
	}
}

func mustCLI(t *testing.T, w *ward, args ...string) string {
	t.Helper()
	out, errOut, code := w.cli(args...)
	if code != 0 {
		t.Fatalf("ward %s: %s", strings.Join(args, " "), errOut)
	}
	return out
}
