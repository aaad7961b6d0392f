package e2e

import (
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestAzACR: the real az's registry commands against Ward, as the guides
// use them before `aks update --attach-acr`: acr create, show, list,
// check-name, login --expose-token (az's /v2/ challenge probe and the
// exchange of its ARM token at the registry), repository list (a catalog
// read with the exchanged token) and delete.
func TestAzACR(t *testing.T) {
	skipIfShort(t, "drives Debian's az")
	// Mostly waiting on an outside client (its own Ward, config and
	// ports): runs beside the other such tests (hack/test.sh -parallel).
	t.Parallel()
	w := startWard(t, "")
	az := newAzCLI(t, w)
	az.login(w)
	_, port, _ := net.SplitHostPort(w.addr)
	loginServer := "azacr1.azurecr.localhost:" + port

	az.ok("group", "create", "-n", "rg-acr", "-l", "westeurope", "-o", "none")
	var created struct {
		ID, Name    string
		LoginServer string `json:"loginServer"`
		Sku         struct{ Name string }
	}
	az.json(&created, "acr", "create", "-n", "azacr1", "-g", "rg-acr", "--sku", "Basic")
	if created.Name != "azacr1" || created.LoginServer != loginServer || created.Sku.Name != "Basic" ||
		!strings.HasSuffix(created.ID, "/resourceGroups/rg-acr/providers/Microsoft.ContainerRegistry/registries/azacr1") {
		t.Fatalf("az acr create = %+v", created)
	}
	if got := strings.TrimSpace(az.ok("acr", "show", "-n", "azacr1", "--query", "loginServer", "-o", "tsv")); got != loginServer {
		t.Fatalf("az acr show --query loginServer = %q, want %q", got, loginServer)
	}
	if got := strings.TrimSpace(az.ok("acr", "list", "-g", "rg-acr", "--query", "[].name", "-o", "tsv")); got != "azacr1" {
		t.Fatalf("az acr list = %q", got)
	}
	var avail struct {
		NameAvailable bool `json:"nameAvailable"`
		Reason        string
	}
	az.json(&avail, "acr", "check-name", "-n", "azacr1")
	if avail.NameAvailable || avail.Reason != "AlreadyExists" {
		t.Fatalf("az acr check-name of a taken name = %+v", avail)
	}

	var tok struct {
		AccessToken string `json:"accessToken"`
		LoginServer string `json:"loginServer"`
	}
	az.json(&tok, "acr", "login", "-n", "azacr1", "--expose-token")
	if tok.LoginServer != loginServer || strings.Count(tok.AccessToken, ".") != 2 {
		t.Fatalf("az acr login --expose-token = %+v", tok)
	}
	// The exposed token is the registry's refresh token, for the null-GUID
	// login; Ward's token service takes it back for an access token.
	form := url.Values{"grant_type": {"refresh_token"}, "service": {loginServer}, "refresh_token": {tok.AccessToken}, "scope": {"registry:catalog:*"}}
	req, _ := http.NewRequest("POST", w.base+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Host = loginServer
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := w.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var at map[string]string
	if err := jsonDecode(resp, &at); err != nil || resp.StatusCode != 200 || at["access_token"] == "" {
		t.Fatalf("the token az exposed, at the registry's /oauth2/token: %d %v %v", resp.StatusCode, at, err)
	}
	resp.Body.Close()
	var repos []string
	az.json(&repos, "acr", "repository", "list", "-n", "azacr1")
	if len(repos) != 0 {
		t.Fatalf("az acr repository list of a new registry = %v", repos)
	}

	az.ok("acr", "delete", "-n", "azacr1", "-g", "rg-acr", "--yes", "-o", "none")
	if _, errOut, code := az.run("acr", "show", "-n", "azacr1", "-g", "rg-acr"); code == 0 || !strings.Contains(errOut, "ResourceNotFound") && !strings.Contains(errOut, "not found") {
		t.Fatalf("az acr show after delete exited %d: %s", code, errOut)
	}
}
