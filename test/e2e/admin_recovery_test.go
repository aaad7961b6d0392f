package e2e

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
	"github.com/ward-id/ward/client"
)

// TestAdminDeletedAndRecovered: the bootstrap admin deletes itself through
// the directory API (as any Owner at / may); ward serve still starts on the
// data directory; `ward admin create` makes a new admin that the unmodified
// ARM SDK and the CLI act as after the next start.
func TestAdminDeletedAndRecovered(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	w := startWard(t, dir)
	old := w.admin
	if out, errOut, code := w.cli("ad", "sp", "delete", "--id", old.ClientID); code != 0 {
		t.Fatalf("ward ad sp delete the admin: %d %s %s", code, out, errOut)
	}
	w.stop()

	w = startWard(t, dir) // fails the test when serve exits
	w.stop()

	out, err := exec.Command(wardBin, "admin", "create", "--data", dir).Output()
	if err != nil {
		t.Fatalf("ward admin create: %v\n%s", err, out)
	}
	var created client.Admin
	if err := json.Unmarshal(out, &created); err != nil || created.ClientID == "" || created.ClientID == old.ClientID || created.TenantID != old.TenantID {
		t.Fatalf("ward admin create printed %s (%v), want a new admin of tenant %s", out, err, old.TenantID)
	}

	w = startWard(t, dir)
	if w.admin.ClientID != created.ClientID || w.admin.ClientSecret != created.ClientSecret {
		t.Fatalf("admin.json after the start names %s, want the new admin %s", w.admin.ClientID, created.ClientID)
	}
	groups, err := armresources.NewResourceGroupsClient(w.admin.SubscriptionID, w.adminCredential(), w.armOptions())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := groups.CreateOrUpdate(context.Background(), "recovered", armresources.ResourceGroup{Location: to.Ptr("westeurope")}, nil); err != nil {
		t.Fatalf("the new admin creates a group with the ARM SDK: %v", err)
	}
	if out, errOut, code := w.cli("group", "list"); code != 0 || !strings.Contains(out, "recovered") {
		t.Fatalf("ward group list as the new admin: %d %s %s", code, out, errOut)
	}
}
