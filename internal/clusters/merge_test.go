package clusters

import (
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/ward-id/ward/internal/armerr"
	"github.com/ward-id/ward/internal/storage"
)

func TestMerge(t *testing.T) {
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	t1 := t0.Add(time.Hour)
	o := origin{ref: storage.ClusterRef{SubscriptionID: "sub", ResourceGroup: "rg", Name: "aks"},
		group: storage.ResourceGroup{SubscriptionID: "sub", Name: "RG", Location: "westeurope"}, id: "guid", now: t1}
	yes, no := true, false
	const uami = "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/cp"
	const kubelet = "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/kl"
	stored := func(edit func(*Spec)) *Cluster {
		c := &Cluster{ID: "old-guid", SubscriptionID: "sub", ResourceGroup: "RG", Name: "aks", Location: "westeurope", CreatedAt: t0, UpdatedAt: t0,
			Tags: map[string]string{"a": "1"},
			Spec: Spec{IdentityType: "SystemAssigned", SystemPrincipalID: "sp", SystemAppID: "app", KubeletIdentity: kubelet, KubeletManaged: true,
				NodeResourceGroup: "MC_RG_aks_westeurope", NodeResourceGroupOwned: true, KubernetesVersion: "1.30.0", DNSPrefix: "aks-dns"}}
		if edit != nil {
			edit(&c.Spec)
		}
		return c
	}
	keys := &jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{KeyID: "k"}}}
	// The principals the named identities had when the request resolved them.
	cpBinding, klBinding := storage.Binding{PrincipalID: "cp-principal", ClientID: "cp-client"}, storage.Binding{PrincipalID: "kl-principal", ClientID: "kl-client"}
	for _, tc := range []struct {
		name    string
		old     *Cluster
		req     Request
		res     resolved
		want    func(*Cluster) // edits the expected cluster, from old (or the new defaults)
		wantErr string         // the refusal's message, when refused
	}{
		{name: "create with defaults", req: Request{}, want: func(c *Cluster) {}},
		{name: "create in the request's location", req: Request{Location: "North Europe"}, want: func(c *Cluster) {
			c.Location, c.Spec.NodeResourceGroup = "northeurope", "MC_RG_aks_northeurope"
		}},
		{name: "create with features and a given kubelet identity",
			req: Request{OIDCIssuer: &yes, WorkloadIdentity: &yes, KubernetesVersion: "1.29.0", DNSPrefix: "p", Tags: map[string]string{"t": "x"}},
			res: resolved{kubelet: kubelet, kubeletBinding: klBinding},
			want: func(c *Cluster) {
				c.Spec.OIDCIssuer, c.Spec.WorkloadIdentity, c.Spec.KubernetesVersion, c.Spec.DNSPrefix = true, true, "1.29.0", "p"
				c.Spec.KubeletIdentity, c.Spec.KubeletBinding, c.Tags = kubelet, &klBinding, map[string]string{"t": "x"}
			}},
		{name: "create user-assigned", req: Request{IdentityType: "userassigned"}, res: resolved{controlPlane: uami, controlPlaneBinding: cpBinding}, want: func(c *Cluster) {
			c.Spec.IdentityType, c.Spec.ControlPlaneIdentity, c.Spec.ControlPlaneBinding = "UserAssigned", uami, &cpBinding
		}},
		{name: "workload identity needs the issuer", req: Request{WorkloadIdentity: &yes},
			wantErr: "Enabling workload identity requires enabling the OIDC issuer feature (--enable-oidc-issuer)."},
		{name: "unknown identity type", req: Request{IdentityType: "None"},
			wantErr: "The identity type 'None' is not supported: use SystemAssigned or UserAssigned."},
		{name: "update keeps what the request does not name", old: stored(nil), req: Request{}, want: func(c *Cluster) { c.UpdatedAt = t1 }},
		{name: "update in the same location, any spelling", old: stored(nil), req: Request{Location: "West Europe"}, want: func(c *Cluster) { c.UpdatedAt = t1 }},
		{name: "update cannot move", old: stored(nil), req: Request{Location: "eastus"}, wantErr: "Changing property 'location' is not allowed."},
		{name: "issuer cannot be disabled", old: stored(func(sp *Spec) { sp.OIDCIssuer = true }), req: Request{OIDCIssuer: &no},
			wantErr: "OIDC issuer feature cannot be disabled once it is enabled on cluster 'aks'."},
		{name: "enable the issuer and bring keys", old: stored(nil), req: Request{OIDCIssuer: &yes}, res: resolved{keys: keys}, want: func(c *Cluster) {
			c.Spec.OIDCIssuer, c.Spec.ServiceAccountKeys, c.UpdatedAt = true, keys, t1
		}},
		{name: "system to user-assigned releases the principal", old: stored(nil), req: Request{IdentityType: "UserAssigned"}, res: resolved{controlPlane: uami, controlPlaneBinding: cpBinding},
			want: func(c *Cluster) {
				c.Spec.IdentityType, c.Spec.ControlPlaneIdentity, c.Spec.SystemPrincipalID, c.Spec.SystemAppID, c.UpdatedAt = "UserAssigned", uami, "", "", t1
				c.Spec.ControlPlaneBinding = &cpBinding
			}},
		{name: "an update without a type keeps user-assigned",
			old: stored(func(sp *Spec) {
				sp.IdentityType, sp.ControlPlaneIdentity, sp.SystemPrincipalID, sp.SystemAppID = "UserAssigned", uami, "", ""
			}),
			req: Request{}, want: func(c *Cluster) { c.UpdatedAt = t1 }},
		{name: "user to system-assigned leaves the principal to be created",
			old: stored(func(sp *Spec) {
				sp.IdentityType, sp.ControlPlaneIdentity, sp.SystemPrincipalID, sp.SystemAppID = "UserAssigned", uami, "", ""
				sp.ControlPlaneBinding = &cpBinding
			}),
			req: Request{IdentityType: "SystemAssigned"}, want: func(c *Cluster) {
				c.Spec.IdentityType, c.Spec.ControlPlaneIdentity, c.Spec.ControlPlaneBinding, c.UpdatedAt = "SystemAssigned", "", nil, t1
			}},
		{name: "a given kubelet identity replaces the managed one", old: stored(nil), req: Request{}, res: resolved{kubelet: uami, kubeletBinding: klBinding}, want: func(c *Cluster) {
			c.Spec.KubeletIdentity, c.Spec.KubeletManaged, c.Spec.KubeletBinding, c.UpdatedAt = uami, false, &klBinding, t1
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before Cluster
			if tc.old != nil {
				before = *tc.old
			}
			got, err := merge(tc.old, tc.req, tc.res, o)
			if tc.wantErr != "" {
				me, ok := armerr.As(err)
				if !ok || me.Status != http.StatusBadRequest || me.Message != tc.wantErr {
					t.Fatalf("merge(%+v) error = %v, want 400 %q", tc.req, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("merge(%+v): %v", tc.req, err)
			}
			var want Cluster
			if tc.old != nil {
				want = *tc.old
			} else {
				want = Cluster{ID: "guid", SubscriptionID: "sub", ResourceGroup: "RG", Name: "aks", Location: "westeurope", CreatedAt: t1, UpdatedAt: t1,
					Spec: Spec{IdentityType: "SystemAssigned", NodeResourceGroup: "MC_RG_aks_westeurope", KubernetesVersion: DefaultKubernetesVersion, DNSPrefix: "aks-dns"}}
			}
			tc.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("merge(%+v)\n got %+v\nwant %+v", tc.req, got, want)
			}
			if tc.old != nil && !reflect.DeepEqual(*tc.old, before) {
				t.Fatalf("merge changed the stored cluster: %+v", *tc.old)
			}
		})
	}
}
