package arm

import (
	"github.com/ward-id/ward/internal/resourceid"
	"github.com/ward-id/ward/internal/storage"
)

// ---- JSON shapes, as ARM returns them ----

type subscriptionJSON struct {
	ID                   string            `json:"id"`
	AuthorizationSource  string            `json:"authorizationSource"`
	ManagedByTenants     []struct{}        `json:"managedByTenants"`
	SubscriptionID       string            `json:"subscriptionId"`
	TenantID             string            `json:"tenantId"`
	DisplayName          string            `json:"displayName"`
	State                string            `json:"state"`
	SubscriptionPolicies map[string]string `json:"subscriptionPolicies"`
}

func toSubscription(s storage.Subscription) subscriptionJSON {
	return subscriptionJSON{
		ID: resourceid.SubscriptionID(s.ID), AuthorizationSource: "RoleBased", ManagedByTenants: []struct{}{},
		SubscriptionID: s.ID, TenantID: s.TenantID, DisplayName: s.DisplayName, State: s.State,
		SubscriptionPolicies: map[string]string{"locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01", "spendingLimit": "Off"},
	}
}

type groupJSON struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Type       string            `json:"type"`
	Location   string            `json:"location"`
	Tags       map[string]string `json:"tags,omitempty"`
	Properties struct {
		ProvisioningState string `json:"provisioningState"`
	} `json:"properties"`
}

func toGroup(rg storage.ResourceGroup) groupJSON {
	g := groupJSON{ID: resourceid.ResourceGroupID(rg.SubscriptionID, rg.Name), Name: rg.Name, Type: TypeResourceGroup, Location: rg.Location, Tags: rg.Tags}
	g.Properties.ProvisioningState = "Succeeded"
	return g
}

type identityJSON struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Type       string            `json:"type"`
	Location   string            `json:"location"`
	Tags       map[string]string `json:"tags"`
	Properties struct {
		TenantID       string `json:"tenantId"`
		PrincipalID    string `json:"principalId"`
		ClientID       string `json:"clientId"`
		IsolationScope string `json:"isolationScope,omitempty"`
	} `json:"properties"`
}

func toIdentity(i storage.Identity) identityJSON {
	j := identityJSON{ID: resourceid.IdentityID(i.SubscriptionID, i.ResourceGroup, i.Name), Name: i.Name, Type: TypeIdentity, Location: i.Location, Tags: i.Tags}
	if j.Tags == nil {
		j.Tags = map[string]string{}
	}
	j.Properties.TenantID, j.Properties.PrincipalID, j.Properties.ClientID = i.TenantID, i.PrincipalID, i.ClientID
	j.Properties.IsolationScope = i.IsolationScope
	return j
}

type ficJSON struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Type       string `json:"type"`
	Properties struct {
		Issuer    string   `json:"issuer"`
		Subject   string   `json:"subject"`
		Audiences []string `json:"audiences"`
	} `json:"properties"`
}

func toFIC(c storage.FederatedCredential) ficJSON {
	j := ficJSON{ID: resourceid.FederatedCredentialID(c.Identity.SubscriptionID, c.Identity.ResourceGroup, c.Identity.Name, c.Name), Name: c.Name, Type: TypeFederatedCredential}
	j.Properties.Issuer, j.Properties.Subject, j.Properties.Audiences = c.Issuer, c.Subject, c.Audiences
	return j
}

func mapList[A, B any](in []A, f func(A) B) []B {
	out := make([]B, 0, len(in))
	for _, a := range in {
		out = append(out, f(a))
	}
	return out
}

type groupBody struct {
	Location string            `json:"location"`
	Tags     map[string]string `json:"tags"`
}

// ---- user-assigned identities ----

type identityBody struct {
	Location   string            `json:"location"`
	Tags       map[string]string `json:"tags"`
	Properties *struct {
		IsolationScope *string `json:"isolationScope"`
	} `json:"properties"`
}

func (b identityBody) isolationScope() *string {
	if b.Properties == nil {
		return nil
	}
	return b.Properties.IsolationScope
}

// ---- federated identity credentials ----

type ficBody struct {
	Properties *struct {
		Issuer    string   `json:"issuer"`
		Subject   string   `json:"subject"`
		Audiences []string `json:"audiences"`
	} `json:"properties"`
}
