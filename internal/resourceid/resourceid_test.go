package resourceid

import (
	"errors"
	"reflect"
	"testing"
)

func TestParse(t *testing.T) {
	cases := []struct {
		in   string
		want ID
		err  bool
	}{
		{in: "/", want: ID{}},
		{in: "/subscriptions", want: ID{Collection: "subscriptions"}},
		{in: "/subscriptions/s1", want: ID{Subscription: "s1"}},
		{in: "/SUBSCRIPTIONS/s1/RESOURCEGROUPS", want: ID{Subscription: "s1", Collection: "resourceGroups"}},
		{in: "/subscriptions/s1/resourcegroups/rg", want: ID{Subscription: "s1", ResourceGroup: "rg"}},
		{in: "/subscriptions/s1/providers/Microsoft.ManagedIdentity/userAssignedIdentities",
			want: ID{Subscription: "s1", Provider: "Microsoft.ManagedIdentity", Collection: "userAssignedIdentities"}},
		{in: "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id/federatedIdentityCredentials/f",
			want: ID{Subscription: "s1", ResourceGroup: "rg", Provider: "Microsoft.ManagedIdentity",
				Types: []TypeName{{"userAssignedIdentities", "id"}, {"federatedIdentityCredentials", "f"}}}},
		{in: "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id/federatedIdentityCredentials",
			want: ID{Subscription: "s1", ResourceGroup: "rg", Provider: "Microsoft.ManagedIdentity",
				Types: []TypeName{{"userAssignedIdentities", "id"}}, Collection: "federatedIdentityCredentials"}},
		{in: "/subscriptions/s1//rg", err: true},
		{in: "/subscriptions/s1/resourceGroups/rg/widgets/x", err: true},
		{in: "/subscriptions/s1/providers", err: true},
		{in: "/subscriptions/s1/resourceGroups/rg/providers/A/b/c/providers/X/y/z", err: true},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := Parse(tc.in)
			if tc.err {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("Parse(%q) error = %v, want ErrInvalid", tc.in, err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Parse(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestTypeMatches(t *testing.T) {
	id, _ := Parse("/subscriptions/s/resourceGroups/rg/providers/microsoft.managedidentity/USERASSIGNEDIDENTITIES/x/federatedidentitycredentials")
	if !id.TypeMatches("Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials") {
		t.Fatal("case-insensitive nested collection did not match")
	}
	if id.TypeMatches("Microsoft.ManagedIdentity/userAssignedIdentities") {
		t.Fatal("matched a shorter type chain")
	}
}

func FuzzParse(f *testing.F) {
	f.Add("/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/x")
	f.Add("//")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := Parse(s)
		if err == nil && len(id.Types) > 0 && id.Provider == "" {
			t.Fatalf("types without a provider: %+v", id)
		}
	})
}

// TestBuilders pins each builder's spelling with literals, so a change to a
// type name or a segment's casing fails here and not on the wire.
func TestBuilders(t *testing.T) {
	cases := []struct{ name, got, want string }{
		{"subscription", SubscriptionID("s1"), "/subscriptions/s1"},
		{"group", ResourceGroupID("s1", "rg"), "/subscriptions/s1/resourceGroups/rg"},
		{"identity", IdentityID("s1", "rg", "id"), "/subscriptions/s1/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id"},
		{"federated credential", FederatedCredentialID("s1", "rg", "id", "f"),
			"/subscriptions/s1/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id/federatedIdentityCredentials/f"},
		{"cluster", ClusterID("s1", "rg", "c"), "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c"},
		{"vault", VaultID("s1", "rg", "kv"), "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv"},
		{"registry", RegistryID("s1", "rg", "acr"), "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/acr"},
		{"storage account", ResourceID("s1", "rg", TypeStorageAccount, "sa"), "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/sa"},
		{"machine", ResourceID("s1", "rg", TypeMachine, "m"), "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.HybridCompute/machines/m"},
		{"cluster as returned", ReturnedID("s1", "rg", TypeManagedCluster, "c"), "/subscriptions/s1/resourcegroups/rg/providers/Microsoft.ContainerService/managedClusters/c"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %s, want %s", tc.got, tc.want)
			}
			if _, err := Parse(tc.got); err != nil {
				t.Errorf("Parse(%s): %v", tc.got, err)
			}
		})
	}
}
