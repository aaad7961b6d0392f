package arm

import (
	"fmt"
	"net/http"

	"github.com/ward-id/ward/internal/armerr"
	"github.com/ward-id/ward/internal/msi"
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
	ManagedBy  string            `json:"managedBy,omitempty"`
	Properties struct {
		ProvisioningState string `json:"provisioningState"`
	} `json:"properties"`
}

func toGroup(rg storage.ResourceGroup) groupJSON {
	g := groupJSON{ID: resourceid.ResourceGroupID(rg.SubscriptionID, rg.Name), Name: rg.Name, Type: TypeResourceGroup, Location: rg.Location, Tags: rg.Tags, ManagedBy: rg.ManagedBy}
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

// ficJSON is a federated credential on the wire. A plain credential has
// exactly the shape it always had (issuer, subject, audiences: older
// clients and Terraform read it); a flexible one has a null subject and
// claimsMatchingExpression, as api-version 2025-01-31-preview defines.
type ficJSON struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Type       string `json:"type"`
	Properties struct {
		Issuer                   string          `json:"issuer"`
		Subject                  *string         `json:"subject"`
		Audiences                []string        `json:"audiences"`
		ClaimsMatchingExpression *expressionJSON `json:"claimsMatchingExpression,omitempty"`
	} `json:"properties"`
}

type expressionJSON struct {
	Value           string `json:"value"`
	LanguageVersion int    `json:"languageVersion"`
}

func toFIC(c storage.FederatedCredential) ficJSON {
	j := ficJSON{ID: resourceid.FederatedCredentialID(c.Identity.SubscriptionID, c.Identity.ResourceGroup, c.Identity.Name, c.Name), Name: c.Name, Type: TypeFederatedCredential}
	j.Properties.Issuer, j.Properties.Audiences = c.Issuer, c.Audiences
	if c.Expression != "" {
		j.Properties.ClaimsMatchingExpression = &expressionJSON{Value: c.Expression, LanguageVersion: c.ExpressionVersion}
	} else {
		j.Properties.Subject = &c.Subject
	}
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
	Location  string            `json:"location"`
	Tags      map[string]string `json:"tags"`
	ManagedBy *string           `json:"managedBy"`
}

// managedBy is what the body declares, else keep.
func (b groupBody) managedBy(keep string) string {
	if b.ManagedBy == nil {
		return keep
	}
	return *b.ManagedBy
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
		Issuer                   string          `json:"issuer"`
		Subject                  string          `json:"subject"`
		Audiences                []string        `json:"audiences"`
		ClaimsMatchingExpression *expressionJSON `json:"claimsMatchingExpression"`
	} `json:"properties"`
}

// expressionsSince is the first api-version of federated credentials with
// claimsMatchingExpression; it and every later one Ward accepts take it.
const expressionsSince = "2025-01-31"

// spec turns the body into the service's spec. An expression sent on an
// api-version that predates it is refused rather than dropped: dropping it
// would store a credential without its restriction.
func (b ficBody) spec(apiVersion string) (msi.FederatedCredentialSpec, error) {
	if b.Properties == nil {
		return msi.FederatedCredentialSpec{}, nil
	}
	p := b.Properties
	spec := msi.FederatedCredentialSpec{Issuer: p.Issuer, Subject: p.Subject, Audiences: p.Audiences}
	if e := p.ClaimsMatchingExpression; e != nil {
		if date, _ := apiVersionDate(apiVersion); date < expressionsSince {
			return spec, newError(http.StatusBadRequest, armerr.CodeBadRequest, fmt.Sprintf(
				"The property 'claimsMatchingExpression' is not supported in api-version '%s'. Use api-version %s-preview or later.", apiVersion, expressionsSince))
		}
		spec.Expression = &msi.Expression{Value: e.Value, LanguageVersion: e.LanguageVersion}
	}
	return spec, nil
}

// storageSuffix is the storage endpoint suffix (blob hosts are
// <account>.blob.<suffix>), "" when Ward serves no blob storage.
func (h *Handler) storageSuffix() string {
	if h.blobs == nil {
		return ""
	}
	return h.blobs.Hosts.StorageSuffix()
}
