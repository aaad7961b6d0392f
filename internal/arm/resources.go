package arm

import (
	"net/http"
	"strings"

	"github.com/ward-id/ward/internal/authn"
	"github.com/ward-id/ward/internal/msi"
	"github.com/ward-id/ward/internal/resourceid"
	"github.com/ward-id/ward/internal/resources"
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

// ---- subscriptions ----

func (h *Handler) subscriptions(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodGet {
		return methodNotAllowed(r, http.MethodGet)
	}
	if err := checkAPIVersion(r, subscriptionAPIVersions, "subscriptions"); err != nil {
		return err
	}
	subs, err := h.svc.Subscriptions(r.Context())
	if err != nil {
		return err
	}
	p, _ := r.Context().Value(principalKey{}).(authn.Principal)
	visible := subs[:0]
	for _, s := range subs {
		if h.authz.Authorize(r.Context(), p, "Microsoft.Resources/subscriptions/read", resourceid.SubscriptionID(s.ID)) == nil {
			visible = append(visible, s)
		}
	}
	writeList(w, r, mapList(visible, toSubscription), "")
	return nil
}

func (h *Handler) subscription(w http.ResponseWriter, r *http.Request, sub string) error {
	if r.Method != http.MethodGet {
		return methodNotAllowed(r, http.MethodGet)
	}
	if err := checkAPIVersion(r, subscriptionAPIVersions, "subscriptions"); err != nil {
		return err
	}
	s, err := h.svc.Subscription(r.Context(), sub)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toSubscription(s))
	return nil
}

// ---- resource groups ----

func (h *Handler) groups(w http.ResponseWriter, r *http.Request, sub string) error {
	if r.Method != http.MethodGet {
		return methodNotAllowed(r, http.MethodGet)
	}
	if err := checkAPIVersion(r, resourceGroupAPIVersions, TypeResourceGroup); err != nil {
		return err
	}
	p, err := pageFromQuery(r)
	if err != nil {
		return err
	}
	items, next, err := h.svc.Groups(r.Context(), sub, p)
	if err != nil {
		return err
	}
	writeList(w, r, mapList(items, toGroup), next)
	return nil
}

type groupBody struct {
	Location string            `json:"location"`
	Tags     map[string]string `json:"tags"`
}

func (h *Handler) group(w http.ResponseWriter, r *http.Request, sub, name string) error {
	if err := checkAPIVersion(r, resourceGroupAPIVersions, TypeResourceGroup); err != nil {
		return err
	}
	ctx := r.Context()
	switch r.Method {
	case http.MethodGet:
		rg, err := h.svc.Group(ctx, sub, name)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toGroup(rg))
	case http.MethodHead: // az group exists
		if _, err := h.svc.Group(ctx, sub, name); err != nil {
			w.WriteHeader(http.StatusNotFound)
			return nil
		}
		w.WriteHeader(http.StatusNoContent)
	case http.MethodPut:
		var b groupBody
		if err := decodeBody(w, r, &b); err != nil {
			return err
		}
		rg, created, err := h.svc.PutGroup(ctx, sub, name, resources.GroupSpec{Location: b.Location, Tags: b.Tags})
		if err != nil {
			return err
		}
		writePut(w, created, toGroup(rg))
	case http.MethodPatch:
		var b groupBody
		if err := decodeBody(w, r, &b); err != nil {
			return err
		}
		old, err := h.svc.Group(ctx, sub, name)
		if err != nil {
			return err
		}
		if b.Tags == nil {
			b.Tags = old.Tags
		}
		rg, _, err := h.svc.PutGroup(ctx, sub, old.Name, resources.GroupSpec{Location: old.Location, Tags: b.Tags})
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toGroup(rg))
	case http.MethodDelete:
		found, err := h.svc.DeleteGroup(ctx, sub, name)
		if err != nil {
			return err
		}
		writeDelete(w, found)
	default:
		return methodNotAllowed(r, "GET", "HEAD", "PUT", "PATCH", "DELETE")
	}
	return nil
}

// ---- user-assigned identities ----

func (h *Handler) identities(w http.ResponseWriter, r *http.Request, sub, rg string) error {
	if r.Method != http.MethodGet {
		return methodNotAllowed(r, http.MethodGet)
	}
	if err := checkAPIVersion(r, identityAPIVersions, TypeIdentity); err != nil {
		return err
	}
	p, err := pageFromQuery(r)
	if err != nil {
		return err
	}
	items, next, err := h.svc.Identities(r.Context(), storage.IdentityFilter{SubscriptionID: sub, ResourceGroup: rg}, p)
	if err != nil {
		return err
	}
	writeList(w, r, mapList(items, toIdentity), next)
	return nil
}

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

func (h *Handler) identity(w http.ResponseWriter, r *http.Request, ref storage.IdentityRef) error {
	if err := checkAPIVersion(r, identityAPIVersions, TypeIdentity); err != nil {
		return err
	}
	ctx := r.Context()
	switch r.Method {
	case http.MethodGet:
		id, err := h.svc.Identity(ctx, ref)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toIdentity(id))
	case http.MethodPut:
		var b identityBody
		if err := decodeBody(w, r, &b); err != nil {
			return err
		}
		spec := msi.IdentitySpec{Location: b.Location, Tags: b.Tags}
		if s := b.isolationScope(); s != nil {
			spec.IsolationScope = *s
		}
		id, created, err := h.svc.PutIdentity(ctx, ref, spec)
		if err != nil {
			return err
		}
		writePut(w, created, toIdentity(id))
	case http.MethodPatch:
		var b identityBody
		if err := decodeBody(w, r, &b); err != nil {
			return err
		}
		id, err := h.svc.PatchIdentity(ctx, ref, b.Tags, b.isolationScope())
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toIdentity(id))
	case http.MethodDelete:
		found, err := h.svc.DeleteIdentity(ctx, ref)
		if err != nil {
			return err
		}
		writeDelete(w, found)
	default:
		return methodNotAllowed(r, "GET", "PUT", "PATCH", "DELETE")
	}
	return nil
}

// ---- federated identity credentials ----

func (h *Handler) federatedCredentials(w http.ResponseWriter, r *http.Request, ref storage.IdentityRef) error {
	if r.Method != http.MethodGet {
		return methodNotAllowed(r, http.MethodGet)
	}
	if err := checkAPIVersion(r, federatedCredentialAPIVersions, TypeFederatedCredential); err != nil {
		return err
	}
	p, err := pageFromQuery(r)
	if err != nil {
		return err
	}
	items, next, err := h.svc.FederatedCredentials(r.Context(), ref, p)
	if err != nil {
		return err
	}
	writeList(w, r, mapList(items, toFIC), next)
	return nil
}

type ficBody struct {
	Properties *struct {
		Issuer    string   `json:"issuer"`
		Subject   string   `json:"subject"`
		Audiences []string `json:"audiences"`
	} `json:"properties"`
}

func (h *Handler) federatedCredential(w http.ResponseWriter, r *http.Request, ref storage.IdentityRef, name string) error {
	if err := checkAPIVersion(r, federatedCredentialAPIVersions, TypeFederatedCredential); err != nil {
		return err
	}
	ctx := r.Context()
	switch r.Method {
	case http.MethodGet:
		c, err := h.svc.FederatedCredential(ctx, ref, name)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toFIC(c))
	case http.MethodPut:
		var b ficBody
		if err := decodeBody(w, r, &b); err != nil {
			return err
		}
		var spec msi.FederatedCredentialSpec
		if b.Properties != nil {
			spec = msi.FederatedCredentialSpec{Issuer: b.Properties.Issuer, Subject: b.Properties.Subject, Audiences: b.Properties.Audiences}
		}
		c, created, err := h.svc.PutFederatedCredential(ctx, ref, name, spec)
		if err != nil {
			return err
		}
		writePut(w, created, toFIC(c))
	case http.MethodDelete:
		found, err := h.svc.DeleteFederatedCredential(ctx, ref, name)
		if err != nil {
			return err
		}
		writeDelete(w, found)
	default:
		return methodNotAllowed(r, "GET", "PUT", "DELETE")
	}
	return nil
}

// ---- cloud metadata ----

// serveMetadata answers GET /metadata/endpoints, which az cloud register and
// SDKs read to discover a cloud's endpoints. It needs no authentication.
// Versions before 2019-05-01 get the legacy object; later ones the array.
func (h *Handler) serveMetadata(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		h.writeError(w, r, methodNotAllowed(r, http.MethodGet))
		return
	}
	if err := checkAPIVersion(r, metadataAPIVersions, "metadata"); err != nil {
		h.writeError(w, r, err)
		return
	}
	base := h.publicURL + "/"
	audiences := []string{"https://management.core.windows.net/", "https://management.azure.com/", base}
	if r.URL.Query().Get("api-version") < "2019-05-01" {
		writeJSON(w, http.StatusOK, map[string]any{
			"galleryEndpoint": "", "graphEndpoint": base, "portalEndpoint": base,
			"authentication": map[string]any{"loginEndpoint": base, "audiences": audiences},
		})
		return
	}
	writeJSON(w, http.StatusOK, []map[string]any{{
		"name":            "Ward",
		"portal":          base,
		"resourceManager": base,
		"authentication": map[string]any{
			"loginEndpoint": base, "audiences": audiences, "tenant": "common", "identityProvider": "AAD",
		},
		"graph": base, "graphAudience": base, "microsoftGraphResourceId": base,
		"media": "", "batch": "", "vmImageAliasDoc": "", "activeDirectoryDataLake": "", "sqlManagement": "",
		"suffixes": map[string]any{"keyVaultDns": vaultSuffix(h.publicURL), "storage": "", "acrLoginServer": "", "sqlServerHostname": ""},
	}})
}

// vaultSuffix is the DNS suffix of Ward's vault hosts: vault.localhost for
// loopback deployments, vault.<host> otherwise, with the port kept.
func vaultSuffix(publicURL string) string {
	host := strings.TrimPrefix(strings.TrimPrefix(publicURL, "https://"), "http://")
	name, port, hasPort := strings.Cut(host, ":")
	if name == "127.0.0.1" || name == "[::1]" || name == "localhost" {
		name = "localhost"
	}
	out := "vault." + name
	if hasPort {
		out += ":" + port
	}
	return out
}
