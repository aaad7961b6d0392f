package e2e

import (
	"context"
	"encoding/json"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
)

// kvError is a Key Vault error answer's status, code and message.
func kvError(t *testing.T, err error) (int, string, string) {
	t.Helper()
	var re *azcore.ResponseError
	if !errorsAs(err, &re) {
		t.Fatalf("want a Key Vault error answer, got %v", err)
	}
	var body struct {
		Error struct{ Code, Message string }
	}
	_ = json.NewDecoder(re.RawResponse.Body).Decode(&body)
	return re.StatusCode, body.Error.Code, body.Error.Message
}

// softDeleteVault creates a vault through ARM with the given extra
// properties and returns an azsecrets client on it as the admin (Key
// Vault Secrets Officer at /).
func softDeleteVault(t *testing.T, w *ward, name, props string) *azsecrets.Client {
	t.Helper()
	sub := "/subscriptions/" + w.admin.SubscriptionID
	if st, b, _ := w.request("PUT", sub+"/resourceGroups/sd?api-version=2021-04-01", `{"location":"westeurope"}`); st != 200 && st != 201 {
		t.Fatalf("group: %d %v", st, b)
	}
	st, b, _ := w.request("PUT", sub+"/resourceGroups/sd/providers/Microsoft.KeyVault/vaults/"+name+"?api-version=2023-07-01",
		`{"location":"westeurope","properties":{"tenantId":"`+w.admin.TenantID+`","sku":{"family":"A","name":"standard"},"enableRbacAuthorization":true`+props+`}}`)
	if st != 201 {
		t.Fatalf("create vault %s: %d %v", name, st, b)
	}
	hc := w.hostsClient()
	cred, err := azidentity.NewClientSecretCredential(w.admin.TenantID, w.admin.ClientID, w.admin.ClientSecret,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: policy.ClientOptions{Cloud: w.cloudConfig(), Transport: hc}, DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	c, err := azsecrets.NewClient(b["properties"].(map[string]any)["vaultUri"].(string), cred,
		&azsecrets.ClientOptions{ClientOptions: policy.ClientOptions{Transport: hc}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestVaultSecretSoftDelete drives Key Vault's soft-delete of secrets with
// the Go SDK (azsecrets) the way Terraform's azurerm uses it: a deleted
// secret stays recoverable for the vault's retention, holds its name
// (409), reads through /deletedsecrets, is recovered whole or purged
// (204, then 404 SecretNotFound "Deleted Secret not found"); a vault
// declared without soft-delete deletes outright, and one with purge
// protection refuses the purge.
func TestVaultSecretSoftDelete(t *testing.T) {
	t.Parallel()
	w := startWard(t, "")
	ctx := context.Background()

	t.Run("soft-delete on (the default), 7 days' retention", func(t *testing.T) {
		kv := softDeleteVault(t, w, "sd-default", `,"softDeleteRetentionInDays":7`)
		set, err := kv.SetSecret(ctx, "db", azsecrets.SetSecretParameters{Value: to.Ptr("v1"), Tags: map[string]*string{"env": to.Ptr("dev")}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if lvl := *set.Attributes.RecoveryLevel; lvl != "Recoverable+Purgeable" || *set.Attributes.RecoverableDays != 7 {
			t.Fatalf("a secret of a soft-delete vault: recoveryLevel %s, recoverableDays %d", lvl, *set.Attributes.RecoverableDays)
		}
		before := time.Now().Add(-time.Second)
		del, err := kv.DeleteSecret(ctx, "db", nil)
		if err != nil {
			t.Fatal(err)
		}
		if del.RecoveryID == nil || !strings.HasSuffix(*del.RecoveryID, "/deletedsecrets/db") || del.DeletedDate == nil || del.DeletedDate.Before(before) ||
			del.ScheduledPurgeDate == nil || del.ScheduledPurgeDate.Sub(*del.DeletedDate) != 7*24*time.Hour || del.ID.Version() != set.ID.Version() {
			t.Fatalf("delete answer: recoveryId %v deleted %v purge %v id %v", del.RecoveryID, del.DeletedDate, del.ScheduledPurgeDate, del.ID)
		}
		if _, err := kv.GetSecret(ctx, "db", "", nil); err == nil {
			t.Fatal("a deleted secret reads")
		} else if st, code, _ := kvError(t, err); st != 404 || code != "SecretNotFound" {
			t.Fatalf("read of a deleted secret: %d %s", st, code)
		}
		if _, err := kv.SetSecret(ctx, "db", azsecrets.SetSecretParameters{Value: to.Ptr("v2")}, nil); err == nil {
			t.Fatal("a deleted secret's name was reused")
		} else if st, code, msg := kvError(t, err); st != 409 || code != "Conflict" || !strings.Contains(msg, "deleted but recoverable") {
			t.Fatalf("set over a deleted secret: %d %s %s", st, code, msg)
		}
		got, err := kv.GetDeletedSecret(ctx, "db", nil)
		if err != nil {
			t.Fatal(err)
		}
		if got.Value != nil || got.ID.Version() != set.ID.Version() || *got.Tags["env"] != "dev" || !got.ScheduledPurgeDate.Equal(*del.ScheduledPurgeDate) {
			t.Fatalf("deleted secret = %+v", got)
		}
		var listed []string
		for pager := kv.NewListDeletedSecretPropertiesPager(nil); pager.More(); {
			page, err := pager.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range page.Value {
				listed = append(listed, x.ID.Name()+" "+*x.RecoveryID)
			}
		}
		if len(listed) != 1 || !strings.HasPrefix(listed[0], "db https://sd-default.vault.localhost:") {
			t.Fatalf("deleted secrets = %q", listed)
		}

		// Recovered: the same version, value and tags.
		if _, err := kv.RecoverDeletedSecret(ctx, "db", nil); err != nil {
			t.Fatal(err)
		}
		back, err := kv.GetSecret(ctx, "db", "", nil)
		if err != nil || *back.Value != "v1" || back.ID.Version() != set.ID.Version() || *back.Tags["env"] != "dev" {
			t.Fatalf("recovered secret = %+v, %v", back, err)
		}
		if _, err := kv.GetDeletedSecret(ctx, "db", nil); err == nil {
			t.Fatal("a recovered secret still reads as deleted")
		}

		// Deleted and purged: gone from both views, the name is free.
		if _, err := kv.DeleteSecret(ctx, "db", nil); err != nil {
			t.Fatal(err)
		}
		if _, err := kv.PurgeDeletedSecret(ctx, "db", nil); err != nil {
			t.Fatalf("purge: %v", err)
		}
		if _, err := kv.GetDeletedSecret(ctx, "db", nil); err == nil {
			t.Fatal("a purged secret reads as deleted")
		} else if st, code, msg := kvError(t, err); st != 404 || code != "SecretNotFound" || msg != "Deleted Secret not found" {
			t.Fatalf("read of a purged secret: %d %s %q", st, code, msg)
		}
		if _, err := kv.PurgeDeletedSecret(ctx, "db", nil); err == nil {
			t.Fatal("purged twice")
		} else if st, code, _ := kvError(t, err); st != 404 || code != "SecretNotFound" {
			t.Fatalf("second purge: %d %s", st, code)
		}
		if _, err := kv.RecoverDeletedSecret(ctx, "db", nil); err == nil {
			t.Fatal("recovered a purged secret")
		}
		if _, err := kv.SetSecret(ctx, "db", azsecrets.SetSecretParameters{Value: to.Ptr("v3")}, nil); err != nil {
			t.Fatalf("set after purge: %v", err)
		}
	})

	t.Run("enableSoftDelete false: deleted outright", func(t *testing.T) {
		kv := softDeleteVault(t, w, "sd-off", `,"enableSoftDelete":false`)
		set, err := kv.SetSecret(ctx, "db", azsecrets.SetSecretParameters{Value: to.Ptr("v1")}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if *set.Attributes.RecoveryLevel != "Purgeable" {
			t.Fatalf("recoveryLevel %s", *set.Attributes.RecoveryLevel)
		}
		del, err := kv.DeleteSecret(ctx, "db", nil)
		if err != nil {
			t.Fatal(err)
		}
		if del.RecoveryID != nil || del.ScheduledPurgeDate != nil {
			t.Fatalf("an outright delete answered a recovery: %v %v", *del.RecoveryID, del.ScheduledPurgeDate)
		}
		if _, err := kv.GetDeletedSecret(ctx, "db", nil); err == nil {
			t.Fatal("a vault without soft-delete kept a deleted secret")
		}
		if _, err := kv.SetSecret(ctx, "db", azsecrets.SetSecretParameters{Value: to.Ptr("v2")}, nil); err != nil {
			t.Fatalf("the name is free at once: %v", err)
		}
	})

	t.Run("purge protection", func(t *testing.T) {
		kv := softDeleteVault(t, w, "sd-protected", `,"enablePurgeProtection":true`)
		if _, err := kv.SetSecret(ctx, "db", azsecrets.SetSecretParameters{Value: to.Ptr("v1")}, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := kv.DeleteSecret(ctx, "db", nil); err != nil {
			t.Fatal(err)
		}
		if _, err := kv.PurgeDeletedSecret(ctx, "db", nil); err == nil {
			t.Fatal("purged in a vault with purge protection")
		} else if st, code, _ := kvError(t, err); st != 403 || code != "Forbidden" {
			t.Fatalf("purge with purge protection: %d %s", st, code)
		}
		if _, err := kv.GetDeletedSecret(ctx, "db", nil); err != nil {
			t.Fatalf("the refused purge removed the secret: %v", err)
		}
	})

	t.Run("python SDK", func(t *testing.T) {
		py := pythonWithAzure()
		needOrSkip(t, py != "", "no python3 imports azure.identity and azure.keyvault.secrets", "apt-get install python3-azure")
		needOrSkip(t, vaultHostsResolve("sd-py"), "sd-py.vault.localhost does not resolve to loopback", vaultHostFix)
		softDeleteVault(t, w, "sd-py", "")
		_, port, _ := net.SplitHostPort(w.addr)
		ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		script := filepath.Join(repoRoot(t), "test", "python", "vault_softdelete.py")
		cmd := exec.CommandContext(ctx, py, script)
		ca := filepath.Join(w.dataDir, "ca.pem")
		cmd.Env = append(cleanEnv(),
			"WARD_VAULT_URL=https://sd-py.vault.localhost:"+port+"/",
			"AZURE_TENANT_ID="+w.admin.TenantID, "AZURE_CLIENT_ID="+w.admin.ClientID, "AZURE_CLIENT_SECRET="+w.admin.ClientSecret,
			"AZURE_AUTHORITY_HOST="+w.admin.AuthorityHost, "REQUESTS_CA_BUNDLE="+ca, "SSL_CERT_FILE="+ca,
			"HTTPS_PROXY=http://"+freeAddr(t), "NO_PROXY=127.0.0.1,localhost,.localhost")
		out, err := cmd.CombinedOutput()
		t.Logf("%s", out)
		if err != nil {
			t.Fatalf("vault_softdelete.py: %v", err)
		}
	})
}
