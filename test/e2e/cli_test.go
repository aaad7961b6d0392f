package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

var guidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// TestCLIQuickStart walks the README's quick start with the ward CLI.
func TestCLIQuickStart(t *testing.T) {
	t.Parallel()
	skipIfShort(t, "a long end-to-end flow")
	w := startWard(t, "")
	run := func(args ...string) string {
		t.Helper()
		out, errOut, code := w.cli(args...)
		if code != 0 {
			t.Fatalf("ward %s: exit %d\n%s", strings.Join(args, " "), code, errOut)
		}
		return out
	}

	var rg map[string]any
	if err := json.Unmarshal([]byte(run("group", "create", "-n", "myResourceGroup", "-l", "West Europe", "--tags", "env=dev", "team=platform")), &rg); err != nil {
		t.Fatal(err)
	}
	if rg["location"] != "westeurope" || rg["tags"].(map[string]any)["team"] != "platform" {
		t.Fatalf("group create printed %v", rg)
	}

	clientID := strings.TrimSpace(run("identity", "create", "-n", "myIdentity", "-g", "myResourceGroup", "--query", "clientId", "-o", "tsv"))
	if !guidRE.MatchString(clientID) {
		t.Fatalf("identity create --query clientId -o tsv = %q, want a GUID", clientID)
	}
	if got := strings.TrimSpace(run("identity", "show", "-n", "myIdentity", "-g", "myResourceGroup", "--query", "clientId", "-o", "tsv")); got != clientID {
		t.Fatalf("identity show clientId = %q, want %q", got, clientID)
	}
	id := strings.TrimSpace(run("identity", "show", "--name", "myIdentity", "--resource-group", "myResourceGroup", "--query", "id", "-o", "tsv"))
	if !strings.HasSuffix(id, "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/myIdentity") {
		t.Fatalf("identity id = %q", id)
	}

	var fic map[string]any
	out := run("identity", "federated-credential", "create", "--name", "myFedCred", "--identity-name", "myIdentity",
		"--resource-group", "myResourceGroup", "--issuer", "https://oidc.example.com/issuer/", "--subject", "system:serviceaccount:default:workload-sa")
	if err := json.Unmarshal([]byte(out), &fic); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if aud := fic["audiences"].([]any); len(aud) != 1 || aud[0] != "api://AzureADTokenExchange" {
		t.Fatalf("default audience = %v", fic["audiences"])
	}
	if fic["subject"] != "system:serviceaccount:default:workload-sa" || fic["resourceGroup"] != "myResourceGroup" {
		t.Fatalf("federated credential = %v", fic)
	}

	table := run("identity", "federated-credential", "list", "--identity-name", "myIdentity", "-g", "myResourceGroup", "-o", "table")
	lines := strings.Split(strings.TrimSpace(table), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "Issuer") || strings.Contains(lines[0], "Id") || !strings.Contains(lines[2], "myFedCred") {
		t.Fatalf("table output:\n%s", table)
	}
	proj := run("identity", "list", "--query", "[].{Name:name, Id:id, Location:location}", "-o", "table")
	if first := strings.Fields(strings.Split(proj, "\n")[0]); strings.Join(first, " ") != "Name Id Location" {
		t.Fatalf("projected table columns = %v, want the query's order", first)
	}
	yaml := run("identity", "show", "-n", "myIdentity", "-g", "myResourceGroup", "-o", "yaml")
	if !strings.Contains(yaml, "clientId: "+clientID) {
		t.Fatalf("yaml output:\n%s", yaml)
	}
	if out := run("identity", "show", "-n", "myIdentity", "-g", "myResourceGroup", "-o", "none"); out != "" {
		t.Fatalf("-o none printed %q", out)
	}
	run("identity", "update", "-n", "myIdentity", "-g", "myResourceGroup", "--tags", "owner=me")
	if got := strings.TrimSpace(run("identity", "show", "-n", "myIdentity", "-g", "myResourceGroup", "--query", "tags.owner", "-o", "tsv")); got != "me" {
		t.Fatalf("tag after update = %q", got)
	}

	// Errors print the server's code and message and exit non-zero.
	_, errOut, code := w.cli("identity", "show", "-n", "missing", "-g", "myResourceGroup")
	if code == 0 || !strings.Contains(errOut, "(ResourceNotFound)") || !strings.Contains(errOut, "userAssignedIdentities/missing") {
		t.Fatalf("show missing: exit %d, stderr %q", code, errOut)
	}
	_, errOut, code = w.cli("identity", "federated-credential", "create", "--name", "bad", "--identity-name", "myIdentity", "-g", "myResourceGroup",
		"--issuer", "https://oidc.example.com/issuer/", "--subject", "system:serviceaccount:default:workload-sa")
	if code == 0 || !strings.Contains(errOut, "Issuer and subject combination already exists") {
		t.Fatalf("duplicate credential: exit %d, stderr %q", code, errOut)
	}
	_, errOut, code = w.cli("identity", "create", "-g", "myResourceGroup")
	if code == 0 || !strings.Contains(errOut, "--name") {
		t.Fatalf("missing --name: exit %d, stderr %q", code, errOut)
	}
	_, errOut, code = w.cli("identity", "list", "--query", "[?", "-o", "tsv")
	if code == 0 || !strings.Contains(errOut, "invalid --query") {
		t.Fatalf("bad query: exit %d, stderr %q", code, errOut)
	}
	_, errOut, code = w.cli("group", "delete", "-n", "myResourceGroup")
	if code == 0 || !strings.Contains(errOut, "--yes") {
		t.Fatalf("delete without --yes: exit %d, stderr %q", code, errOut)
	}

	run("identity", "federated-credential", "delete", "--name", "myFedCred", "--identity-name", "myIdentity", "-g", "myResourceGroup")
	if out := run("identity", "federated-credential", "list", "--identity-name", "myIdentity", "-g", "myResourceGroup"); strings.TrimSpace(out) != "[]" {
		t.Fatalf("list after delete = %q", out)
	}
	run("identity", "delete", "-n", "myIdentity", "-g", "myResourceGroup")
	run("group", "delete", "-n", "myResourceGroup", "--yes")
	if out := run("group", "list"); strings.TrimSpace(out) != "[]" {
		t.Fatalf("groups after delete = %q", out)
	}
}

// TestCLILogin logs in as a new service principal and acts as it.
func TestCLILogin(t *testing.T) {
	t.Parallel()
	w := startWard(t, "")
	// Its own profile directory, given to each command rather than set
	// with t.Setenv, which would keep the test out of the parallel ones.
	w.cliEnv = []string{"WARD_CONFIG_DIR=" + t.TempDir()}
	out, errOut, code := w.cli("ad", "sp", "create-for-rbac", "-n", "ci")
	if code != 0 {
		t.Fatal(errOut)
	}
	var sp struct{ AppID, Password, Tenant string }
	json.Unmarshal([]byte(out), &sp)
	if _, errOut, code := w.cli("login", "--service-principal", "-u", sp.AppID, "-p", "wrong", "--tenant", sp.Tenant); code == 0 || !strings.Contains(errOut, "AADSTS7000215") {
		t.Fatalf("login with a wrong secret: exit %d, %s", code, errOut)
	}
	if _, errOut, code := w.cli("login", "--service-principal", "-u", sp.AppID, "-p", sp.Password, "--tenant", sp.Tenant); code != 0 {
		t.Fatalf("login: %s", errOut)
	}
	// The profile is used without --data from now on.
	cmd := exec.Command(wardBin, "account", "get-access-token", "--resource", "https://vault.azure.net", "--query", "accessToken", "-o", "tsv")
	cmd.Dir, cmd.Env = t.TempDir(), append(os.Environ(), w.cliEnv...)
	tok, err := cmd.Output()
	if err != nil {
		t.Fatalf("get-access-token: %v", err)
	}
	if c := verify(t, w, strings.TrimSpace(string(tok))); c["appid"] != sp.AppID || c["aud"] != "https://vault.azure.net" {
		t.Fatalf("token claims %v", c)
	}
	list := exec.Command(wardBin, "ad", "sp", "list", "--display-name", "ci", "--query", "[0].appId", "-o", "tsv")
	list.Dir, list.Env = cmd.Dir, cmd.Env
	got, err := list.Output()
	if err != nil || strings.TrimSpace(string(got)) != sp.AppID {
		t.Fatalf("ad sp list as the logged-in principal: %q %v", got, err)
	}
}
