package arm

import (
	"encoding/json"
	"testing"
)

func TestResourceTypeOf(t *testing.T) {
	for _, tc := range []struct{ id, want string }{
		{"/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app/federatedIdentityCredentials/c",
			"Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials"},
		{"/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv", "Microsoft.KeyVault/vaults"},
		{"/subscriptions/s/resourceGroups/rg", "Microsoft.Resources/subscriptions/resourceGroups"},
		{"/subscriptions/s", "Microsoft.Resources/subscriptions"},
		{"/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv/providers/Microsoft.Authorization/roleAssignments/x", "Microsoft.Authorization/roleAssignments"},
		{"/providers/Microsoft.Authorization/roleAssignments/x", "Microsoft.Authorization/roleAssignments"},
	} {
		if got := resourceTypeOf(tc.id); got != tc.want {
			t.Errorf("resourceTypeOf(%s) = %q, want %q", tc.id, got, tc.want)
		}
	}
}

// TestMergePatch: a PATCH is evaluated as the resource it leaves behind.
func TestMergePatch(t *testing.T) {
	var cur, patch map[string]any
	_ = json.Unmarshal([]byte(`{"location":"westeurope","tags":{"a":"1"},"properties":{"x":1,"nested":{"k":"v"}}}`), &cur)
	_ = json.Unmarshal([]byte(`{"Tags":{"b":"2"},"properties":{"nested":{"k2":"v2"},"y":2}}`), &patch)
	got, _ := json.Marshal(mergePatch(cur, patch))
	want := `{"Tags":{"b":"2"},"location":"westeurope","properties":{"nested":{"k":"v","k2":"v2"},"x":1,"y":2}}`
	if string(got) != want {
		t.Fatalf("merged = %s, want %s", got, want)
	}
}
