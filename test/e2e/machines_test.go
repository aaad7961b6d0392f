package e2e

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// TestConnectedMachineResource drives Microsoft.HybridCompute/machines and
// node pool identities through the CLI and raw ARM: the system-assigned
// identity lives and dies with the machine (with its role assignments),
// attaching a user-assigned identity needs assign/action on it, and the
// join token is shown once.
func TestConnectedMachineResource(t *testing.T) {
	t.Parallel()
	skipIfShort(t, "a long end-to-end flow")
	w := startWard(t, "")
	sub := "/subscriptions/" + w.admin.SubscriptionID
	mustCLI(t, w, "group", "create", "-n", "rgm", "-l", "westeurope")
	mustCLI(t, w, "group", "create", "-n", "rgid", "-l", "westeurope")
	idID := cliJSON(t, w, "identity", "create", "-n", "app-id", "-g", "rgid")["id"].(string)

	out, errOut, code := w.cli("connectedmachine", "create", "-n", "m1", "-g", "rgm", "--tags", "env=lab")
	if code != 0 {
		t.Fatalf("create: %s", errOut)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatal(err)
	}
	token, _ := m["wardJoinToken"].(string)
	if !strings.HasPrefix(token, "wj1.") || !strings.Contains(errOut, "ward agent join") || !strings.Contains(errOut, token) {
		t.Fatalf("create prints the join token and what to run: %v\n%s", m, errOut)
	}
	ident := m["identity"].(map[string]any)
	if ident["type"] != "SystemAssigned" || ident["principalId"] == "" || m["status"] != "Disconnected" || m["tags"].(map[string]any)["env"] != "lab" {
		t.Fatalf("machine: %v", m)
	}
	principal := ident["principalId"].(string)
	shown := cliJSON(t, w, "connectedmachine", "show", "-n", "m1", "-g", "rgm")
	if _, ok := shown["wardJoinToken"]; ok {
		t.Fatalf("show repeats the join token: %v", shown)
	}
	if got := mustCLI(t, w, "connectedmachine", "list", "--query", "[].name", "-o", "tsv"); strings.TrimSpace(got) != "m1" {
		t.Fatalf("list: %q", got)
	}

	// A role assignment of the system identity goes with the machine.
	w.assign(t, principal, sub+"/resourceGroups/rgm", readerRole)
	mustCLI(t, w, "connectedmachine", "identity", "assign", "-n", "m1", "-g", "rgm", "--identities", idID)
	shown = cliJSON(t, w, "connectedmachine", "show", "-n", "m1", "-g", "rgm")
	if shown["identity"].(map[string]any)["type"] != "SystemAssigned, UserAssigned" {
		t.Fatalf("after assign: %v", shown["identity"])
	}

	// Linked authorization: an owner of rgm alone may not attach rgid's
	// identity, to a machine or to a node pool; with Managed Identity
	// Operator on it, it may.
	o := w.newPrincipal(t, "machine-owner")
	w.assign(t, o.ObjectID, sub+"/resourceGroups/rgm", ownerRole)
	tok := w.tokenFor(t, o, "https://management.azure.com/.default")
	m2 := sub + "/resourceGroups/rgm/providers/Microsoft.HybridCompute/machines/m2?api-version=2024-07-10"
	body := `{"location":"westeurope","identity":{"type":"SystemAssigned, UserAssigned","userAssignedIdentities":{"` + idID + `":{}}}}`
	if st, b := w.raw(t, tok, "PUT", "", m2, body); st != 403 || errorCode(b) != "LinkedAuthorizationFailed" || strings.Contains(b["error"].(map[string]any)["message"].(string), "clientId") {
		t.Fatalf("machine with a foreign identity: %d %v", st, b)
	}
	st, b := w.raw(t, tok, "PUT", "", m2, `{"location":"westeurope"}`)
	if st != 201 {
		t.Fatalf("plain machine: %d %v", st, b)
	}
	patch := `{"identity":{"type":"SystemAssigned, UserAssigned","userAssignedIdentities":{"` + idID + `":{}}}}`
	if st, b := w.raw(t, tok, "PATCH", "", m2, patch); st != 403 || errorCode(b) != "LinkedAuthorizationFailed" {
		t.Fatalf("patch in a foreign identity: %d %v", st, b)
	}
	mustCLI(t, w, "aks", "create", "-n", "c1", "-g", "rgm", "--enable-oidc-issuer")
	pool := sub + "/resourceGroups/rgm/providers/Microsoft.ContainerService/managedClusters/c1/agentPools/nodepool1?api-version=2025-02-01"
	poolBody := `{"properties":{"wardUserAssignedIdentities":{"` + idID + `":{}}}}`
	if st, b := w.raw(t, tok, "PUT", "", pool, poolBody); st != 403 || errorCode(b) != "LinkedAuthorizationFailed" {
		t.Fatalf("node pool with a foreign identity: %d %v", st, b)
	}
	w.assign(t, o.ObjectID, idID, miOperatorRole)
	if st, b := w.raw(t, tok, "PATCH", "", m2, patch); st != 200 {
		t.Fatalf("patch with assign/action: %d %v", st, b)
	}
	if st, b := w.raw(t, tok, "PUT", "", pool, poolBody); st != 200 {
		t.Fatalf("node pool with assign/action: %d %v", st, b)
	}
	list := mustCLI(t, w, "aks", "nodepool", "identity", "list", "--cluster-name", "c1", "-g", "rgm", "-n", "nodepool1", "--query", "[].kind", "-o", "tsv")
	if strings.Fields(list)[0] != "kubelet" || strings.Fields(list)[1] != "user" {
		t.Fatalf("pool identities: %q", list)
	}
	mustCLI(t, w, "aks", "nodepool", "identity", "remove", "--cluster-name", "c1", "-g", "rgm", "-n", "nodepool1", "--identities", idID)
	if list := mustCLI(t, w, "aks", "nodepool", "identity", "list", "--cluster-name", "c1", "-g", "rgm", "-n", "nodepool1", "--query", "[].kind", "-o", "tsv"); strings.TrimSpace(list) != "kubelet" {
		t.Fatalf("after remove: %q", list)
	}

	// Detaching, then deleting: the system identity and its assignment go,
	// the user-assigned identity stays.
	mustCLI(t, w, "connectedmachine", "identity", "remove", "-n", "m1", "-g", "rgm", "--identities", idID)
	mustCLI(t, w, "connectedmachine", "delete", "-n", "m1", "-g", "rgm", "--yes")
	if st, _, _ := w.request("GET", sub+"/resourceGroups/rgm/providers/Microsoft.HybridCompute/machines/m1?api-version=2024-07-10", ""); st != 404 {
		t.Fatalf("machine after delete: %d", st)
	}
	graph := w.graphToken(t)
	if st, _ := w.raw(t, graph, "GET", "", "/v1.0/servicePrincipals/"+principal, ""); st != 404 {
		t.Fatalf("system identity after delete: %d", st)
	}
	st, b, _ = w.request("GET", sub+"/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$filter="+url.QueryEscape("principalId eq '"+principal+"'"), "")
	if st != 200 || len(b["value"].([]any)) != 0 {
		t.Fatalf("role assignments of the deleted machine's identity: %d %v", st, b)
	}
	if st, _, _ := w.request("GET", idID+"?api-version=2023-01-31", ""); st != 200 {
		t.Fatalf("user-assigned identity after the machine's deletion: %d", st)
	}
}
