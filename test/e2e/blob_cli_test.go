package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLIStorage: `ward storage account|container|blob` as az spells them,
// with --auth-mode login: the admin (Owner, no data role) manages the
// account and its containers but cannot upload until it holds Storage Blob
// Data Contributor; shared keys are refused before any request.
func TestCLIStorage(t *testing.T) {
	t.Parallel()
	skipIfShort(t, "a long end-to-end flow")
	w := startWard(t, "")
	f := newFlowCLI(t, filepath.Dir(w.dataDir))
	f.ok("group", "create", "-n", "rg", "-l", "westeurope")
	id := f.ok("storage", "account", "create", "-n", "wardcli", "-g", "rg", "--query", "id", "-o", "tsv")
	if !strings.HasSuffix(id, "/providers/Microsoft.Storage/storageAccounts/wardcli") {
		t.Fatalf("account id = %q", id)
	}
	if got := f.ok("storage", "account", "show", "-n", "wardcli", "--query", "properties.allowSharedKeyAccess", "-o", "tsv"); got != "False" {
		t.Fatalf("allowSharedKeyAccess = %q", got)
	}
	if got := f.ok("storage", "account", "list", "-g", "rg", "--query", "[].name", "-o", "tsv"); got != "wardcli" {
		t.Fatalf("account list = %q", got)
	}
	if _, errOut, code := f.exec("storage", "account", "create", "-n", "wardcli2", "-g", "rg", "--allow-shared-key-access", "true"); code == 0 || !strings.Contains(errOut, "Microsoft Entra tokens only") {
		t.Fatalf("shared key account: exit %d %s", code, errOut)
	}
	if _, errOut, code := f.exec("storage", "container", "list", "--account-name", "wardcli", "--auth-mode", "key"); code == 0 || !strings.Contains(errOut, "--auth-mode login") {
		t.Fatalf("--auth-mode key: exit %d %s", code, errOut)
	}
	f.ok("storage", "container", "create", "-n", "docs", "--account-name", "wardcli", "--auth-mode", "login")
	if got := f.ok("storage", "container", "list", "--account-name", "wardcli", "--auth-mode", "login", "--query", "[].name", "-o", "tsv"); got != "docs" {
		t.Fatalf("container list = %q", got)
	}
	src := filepath.Join(t.TempDir(), "report.txt")
	os.WriteFile(src, []byte("quarterly numbers\n"), 0o600)
	upload := []string{"storage", "blob", "upload", "--account-name", "wardcli", "-c", "docs", "-n", "reports/q1.txt", "-f", src, "--auth-mode", "login"}
	if _, errOut, code := f.exec(upload...); code == 0 || !strings.Contains(errOut, "AuthorizationPermissionMismatch") {
		t.Fatalf("upload as Owner without a data role: exit %d %s", code, errOut)
	}
	f.ok("role", "assignment", "create", "--assignee", w.admin.ClientID, "--role", "Storage Blob Data Contributor", "--scope", id)
	f.ok(upload...)
	if _, errOut, code := f.exec(upload...); code == 0 || !strings.Contains(errOut, "BlobAlreadyExists") {
		t.Fatalf("upload again without --overwrite: exit %d %s", code, errOut)
	}
	f.ok(append(upload, "--overwrite")...)
	if got := f.ok("storage", "blob", "list", "--account-name", "wardcli", "-c", "docs", "--query", "[0].[name, properties.contentLength, properties.contentSettings.contentType]", "-o", "tsv"); got != "reports/q1.txt\n18\ntext/plain; charset=utf-8" {
		t.Fatalf("blob list = %q", got)
	}
	dst := filepath.Join(t.TempDir(), "copy.txt")
	f.ok("storage", "blob", "download", "--account-name", "wardcli", "-c", "docs", "-n", "reports/q1.txt", "-f", dst)
	if b, _ := os.ReadFile(dst); string(b) != "quarterly numbers\n" {
		t.Fatalf("downloaded %q", b)
	}
	f.ok("storage", "blob", "delete", "--account-name", "wardcli", "-c", "docs", "-n", "reports/q1.txt")
	if _, errOut, code := f.exec("storage", "blob", "download", "--account-name", "wardcli", "-c", "docs", "-n", "reports/q1.txt", "-f", dst); code == 0 || !strings.Contains(errOut, "BlobNotFound") {
		t.Fatalf("download a deleted blob: exit %d %s", code, errOut)
	}
	f.ok("storage", "container", "delete", "-n", "docs", "--account-name", "wardcli")
	f.ok("storage", "account", "delete", "-n", "wardcli", "-g", "rg", "--yes")
	if got := f.ok("storage", "account", "list", "--query", "length(@)"); got != "0" {
		t.Fatalf("accounts after delete = %q", got)
	}
}
