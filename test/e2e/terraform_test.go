//go:build terraform

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestTerraformExample runs examples/terraform with OpenTofu and the
// unmodified azurerm provider against a fresh `ward serve`, with the
// provider's default settings (resource-provider registration, purge of
// soft-deleted vaults and secrets on destroy, its fixed waits):
//
//	tofu init; tofu apply -auto-approve; tofu plan -detailed-exitcode (must
//	be 0: no changes, so every property declared reads back as declared);
//	tofu destroy -auto-approve; and Ward holds nothing the run created.
//
// WARD_TERRAFORM_BIN is a folder with `tofu` and `terraform-provider-azurerm`
// (hack/terraform-tools/build.sh builds both from the Go module proxy). No
// Terraform registry is reachable, so the provider is installed from a
// filesystem mirror named by a CLI config of the test's own
// (TF_CLI_CONFIG_FILE); every call that is not to Ward goes to a closed
// loopback port (HTTPS_PROXY) and fails at once.
// The provider's own waits make a run take minutes: run with -timeout 30m.
func TestTerraformExample(t *testing.T) {
	// Mostly waiting on an outside client (its own Ward, config and
	// ports): runs beside the other such tests (hack/test.sh -parallel).
	t.Parallel()
	bin := os.Getenv("WARD_TERRAFORM_BIN")
	if bin == "" {
		t.Skip("WARD_TERRAFORM_BIN is not set: build OpenTofu and the azurerm provider with hack/terraform-tools/build.sh <dir> and set WARD_TERRAFORM_BIN=<dir>")
	}
	for _, f := range []string{"tofu", "terraform-provider-azurerm"} {
		if st, err := os.Stat(filepath.Join(bin, f)); err != nil || st.Mode()&0o111 == 0 {
			t.Fatalf("WARD_TERRAFORM_BIN=%s has no executable %s: %v", bin, f, err)
		}
	}
	bin, _ = filepath.Abs(bin)
	w := startWard(t, "")
	host := strings.TrimPrefix(w.base, "https://")
	sub := "/subscriptions/" + w.admin.SubscriptionID

	// The configuration, copied so that the run's state stays out of the tree.
	work := t.TempDir()
	src := filepath.Join(repoRoot(t), "examples", "terraform")
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tf") {
			b, err := os.ReadFile(filepath.Join(src, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(work, e.Name()), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The provider, installed from a filesystem mirror (unpacked layout)
	// under the version label 5.0.0 (build.sh builds a 5.x main). Not
	// dev_overrides: with them `tofu init` still asks the registry and
	// fails offline (tofu says to skip init), and a user runs init.
	mirror := t.TempDir()
	pkg := filepath.Join(mirror, "registry.opentofu.org", "hashicorp", "azurerm", "5.0.0", runtime.GOOS+"_"+runtime.GOARCH)
	if err := os.MkdirAll(pkg, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(bin, "terraform-provider-azurerm"), filepath.Join(pkg, "terraform-provider-azurerm")); err != nil {
		t.Fatal(err)
	}
	cliConfig := filepath.Join(t.TempDir(), "tofurc")
	if err := os.WriteFile(cliConfig, []byte(fmt.Sprintf("provider_installation {\n  filesystem_mirror {\n    path    = %q\n    include = [\"registry.opentofu.org/hashicorp/azurerm\"]\n  }\n}\n", mirror)), 0o644); err != nil {
		t.Fatal(err)
	}
	logFile := filepath.Join(t.TempDir(), "tofu.log")
	env := append(cleanEnv(),
		"TF_CLI_CONFIG_FILE="+cliConfig,
		"TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1", "TF_INPUT=0",
		"TF_LOG=DEBUG", "TF_LOG_PATH="+logFile,
		"TF_VAR_metadata_host="+host,
		"ARM_TENANT_ID="+w.admin.TenantID,
		"ARM_SUBSCRIPTION_ID="+w.admin.SubscriptionID,
		"ARM_CLIENT_ID="+w.admin.ClientID,
		"ARM_CLIENT_SECRET="+w.admin.ClientSecret,
		"SSL_CERT_FILE="+filepath.Join(w.dataDir, "ca.pem"),
		"HTTPS_PROXY=http://"+freeAddr(t), "HTTP_PROXY=http://"+freeAddr(t),
		"NO_PROXY=127.0.0.1,localhost,.localhost",
	)
	tofu := func(args ...string) (int, string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, filepath.Join(bin, "tofu"), args...)
		cmd.Dir, cmd.Env = work, env
		start := time.Now()
		out, err := cmd.CombinedOutput()
		code := 0
		if err != nil {
			code = -1
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
		}
		t.Logf("tofu %s → %d in %s", strings.Join(args, " "), code, time.Since(start).Round(time.Second))
		return code, string(out)
	}
	failed := func(what, out string) {
		t.Helper()
		logTail, _ := os.ReadFile(logFile)
		wardLog, _ := os.ReadFile(w.log.Name())
		t.Fatalf("%s:\n%s\n--- provider log (tail) ---\n%s\n--- ward log (tail) ---\n%s", what, out, tail(logTail, 12000), tail(wardLog, 6000))
	}

	before := wardInventory(t, w, sub)
	start := time.Now()
	if code, out := tofu("init", "-no-color"); code != 0 {
		failed("tofu init", out)
	}
	if code, out := tofu("apply", "-auto-approve", "-no-color"); code != 0 {
		failed("tofu apply", out)
	}
	applied := time.Since(start)
	code, outputs := tofu("output", "-json", "-no-color")
	if code != 0 {
		failed("tofu output", outputs)
	}
	var out map[string]struct{ Value string }
	if err := json.Unmarshal([]byte(outputs), &out); err != nil {
		t.Fatalf("tofu output: %v\n%s", err, outputs)
	}
	if iss := out["oidc_issuer_url"].Value; !strings.HasPrefix(iss, w.base+"/") {
		t.Errorf("oidc_issuer_url = %q, want an issuer Ward hosts (%s/...)", iss, w.base)
	}
	if out["tenant_id"].Value != w.admin.TenantID || out["client_id"].Value == "" || !strings.Contains(out["vault_uri"].Value, ".vault.localhost") {
		t.Errorf("outputs = %+v", out)
	}
	// What apply declared is there, as Ward serves it.
	for _, p := range []string{
		"/resourceGroups/wardtf-rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/wardtf-app-id/federatedIdentityCredentials/wardtf-app-fic?api-version=2023-01-31",
		"/resourceGroups/wardtf-rg/providers/Microsoft.ContainerService/managedClusters/wardtf-aks?api-version=2025-02-01",
		"/resourceGroups/wardtf-rg/providers/Microsoft.KeyVault/vaults/wardtf-kv?api-version=2023-07-01",
	} {
		if st, b, _ := w.request("GET", sub+p, ""); st != 200 {
			t.Errorf("after apply, GET %s: %d %v", p, st, b)
		}
	}
	// Properties Ward stores but does not act on read back as declared.
	for p, want := range map[string][]string{
		"/resourceGroups/wardtf-rg/providers/Microsoft.ContainerRegistry/registries/wardtfacr?api-version=2023-11-01-preview": {
			`"publicNetworkAccess":"Disabled"`, `"zoneRedundancy":"Enabled"`, `"defaultAction":"Deny"`, `"203.0.113.0/24"`, `"days":7`},
		"/resourceGroups/wardtf-rg/providers/Microsoft.Storage/storageAccounts/wardtfsa?api-version=2025-08-01": {
			`"publicNetworkAccess":"Disabled"`, `"minimumTlsVersion":"TLS1_2"`, `"defaultAction":"Deny"`, `"203.0.113.7"`},
		"/resourceGroups/wardtf-rg/providers/Microsoft.Storage/storageAccounts/wardtfsa/blobServices/default?api-version=2025-08-01": {
			`"allowedOrigins":["https://app.example.com"]`, `"days":7`},
	} {
		st, b, _ := w.request("GET", sub+p, "")
		text, _ := json.Marshal(b)
		for _, prop := range want {
			if st != 200 || !strings.Contains(string(text), prop) {
				t.Errorf("after apply, GET %s = %d %s, want %s in it", p, st, text, prop)
			}
		}
	}

	// A plan right after apply has nothing to do.
	if code, out := tofu("plan", "-detailed-exitcode", "-no-color"); code != 0 {
		failed(fmt.Sprintf("tofu plan -detailed-exitcode exited %d (2 = changes: a property Ward did not answer as declared)", code), out)
	}
	planned := time.Since(start)
	if code, out := tofu("destroy", "-auto-approve", "-no-color"); code != 0 {
		failed("tofu destroy", out)
	}
	t.Logf("durations: init+apply %s, +plan %s, +destroy %s (total)", applied.Round(time.Second), planned.Round(time.Second), time.Since(start).Round(time.Second))

	if after := wardInventory(t, w, sub); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Fatalf("after destroy Ward holds:\n%s\nwant what it held before apply:\n%s", strings.Join(after, "\n"), strings.Join(before, "\n"))
	}
}

// wardInventory is what a subscription holds, sorted: groups, every
// resource, role assignments and custom role definitions.
func wardInventory(t *testing.T, w *ward, sub string) []string {
	t.Helper()
	var out []string
	list := func(kind, path string, keep func(map[string]any) bool) {
		st, b, _ := w.request("GET", path, "")
		if st != 200 {
			t.Fatalf("GET %s: %d %v", path, st, b)
		}
		items, _ := b["value"].([]any)
		for _, it := range items {
			m, _ := it.(map[string]any)
			if keep == nil || keep(m) {
				id, _ := m["id"].(string)
				out = append(out, kind+" "+strings.ToLower(id))
			}
		}
	}
	list("group", sub+"/resourcegroups?api-version=2021-04-01", nil)
	list("resource", sub+"/resources?api-version=2021-04-01", nil)
	list("role assignment", sub+"/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01", nil)
	list("role definition", sub+"/providers/Microsoft.Authorization/roleDefinitions?api-version=2022-04-01", func(m map[string]any) bool {
		p, _ := m["properties"].(map[string]any)
		return p["type"] == "CustomRole"
	})
	sort.Strings(out)
	return out
}
