package arm

import (
	"net/http"
	"strings"

	"github.com/ward-id/ward/internal/registry"
	"github.com/ward-id/ward/internal/router"
	"github.com/ward-id/ward/internal/storage"
)

const (
	ProviderContainerRegistry = "Microsoft.ContainerRegistry"
	TypeRegistry              = registry.Type
)

// registryAPIVersions: armcontainerregistry 1.2 sends 2023-07-01, az
// 2.6x 2023-11-01-preview and 2025-04-01, Terraform's azurerm
// 2023-11-01-preview; the older ones are those SDKs' earlier releases.
var registryAPIVersions = []string{"2017-10-01", "2019-05-01", "2019-12-01-preview", "2020-11-01-preview", "2021-06-01-preview",
	"2021-08-01-preview", "2021-09-01", "2021-12-01-preview", "2022-02-01-preview", "2022-12-01", "2023-01-01-preview",
	"2023-06-01-preview", "2023-07-01", "2023-08-01-preview", "2023-11-01-preview", "2024-11-01-preview", "2025-03-01-preview",
	"2025-04-01", "2025-05-01-preview", "2025-11-01"}

type registryJSON struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Type     string            `json:"type"`
	Location string            `json:"location"`
	Tags     map[string]string `json:"tags"`
	SKU      struct {
		Name string `json:"name"`
		Tier string `json:"tier"`
	} `json:"sku"`
	Properties struct {
		LoginServer              string `json:"loginServer"`
		CreationDate             string `json:"creationDate"`
		ProvisioningState        string `json:"provisioningState"`
		AdminUserEnabled         bool   `json:"adminUserEnabled"`
		AnonymousPullEnabled     bool   `json:"anonymousPullEnabled"`
		DataEndpointEnabled      bool   `json:"dataEndpointEnabled"`
		PublicNetworkAccess      string `json:"publicNetworkAccess"`
		NetworkRuleBypassOptions string `json:"networkRuleBypassOptions"`
		ZoneRedundancy           string `json:"zoneRedundancy"`
		// RoleAssignmentMode is how Ward authorizes a registry: AcrPull,
		// AcrPush and AcrDelete at the registry (or above), Azure's
		// LegacyRegistryPermissions; it has no per-repository ABAC mode.
		RoleAssignmentMode string `json:"roleAssignmentMode"`
		Encryption         struct {
			Status string `json:"status"`
		} `json:"encryption"`
	} `json:"properties"`
}

func (h *Handler) toRegistry(r storage.Registry) registryJSON {
	j := registryJSON{ID: registry.ResourceID(r), Name: r.Name, Type: TypeRegistry, Location: r.Location, Tags: r.Tags}
	if j.Tags == nil {
		j.Tags = map[string]string{}
	}
	j.SKU.Name, j.SKU.Tier = r.SKU, r.SKU
	p := &j.Properties
	p.LoginServer, p.CreationDate, p.ProvisioningState = h.registries.Hosts.LoginServer(r.Name), r.CreatedAt.UTC().Format("2006-01-02T15:04:05.0000000Z"), "Succeeded"
	p.PublicNetworkAccess, p.NetworkRuleBypassOptions, p.ZoneRedundancy, p.Encryption.Status = "Enabled", "AzureServices", "Disabled", "disabled"
	p.RoleAssignmentMode = "LegacyRegistryPermissions"
	return j
}

type registryBody struct {
	Location string            `json:"location"`
	Tags     map[string]string `json:"tags"`
	SKU      *struct {
		Name string `json:"name"`
	} `json:"sku"`
	Properties *struct {
		AdminUserEnabled bool `json:"adminUserEnabled"`
	} `json:"properties"`
}

func (b registryBody) spec() registry.Spec {
	s := registry.Spec{Location: b.Location, Tags: b.Tags}
	if b.SKU != nil {
		s.SKU = &b.SKU.Name
	}
	if b.Properties != nil {
		s.AdminUserEnabled = b.Properties.AdminUserEnabled
	}
	return s
}

// acrSuffix is the cloud metadata's acrLoginServer ("" without registries).
func (h *Handler) acrSuffix() string {
	if h.registries == nil {
		return ""
	}
	return h.registries.Hosts.DNSSuffix()
}

func (h *Handler) registryType() *resourceType {
	const prov = "/providers/Microsoft.ContainerRegistry/registries"
	return &resourceType{
		rbacType: TypeRegistry, apiType: TypeRegistry, versions: registryAPIVersions,
		pattern: pRegistry, collections: []string{pSub + prov, pGroup + prov},
		parent: h.groupParent, asyncPut: ProviderContainerRegistry,
		list: func(q *request) ([]any, string, error) {
			items, err := h.registries.List(q.ctx(), q.id.Subscription, q.group())
			return listOf(h.toRegistry)(items, "", err)
		},
		get: func(q *request) (any, error) {
			return viewOf(h.toRegistry)(h.registries.Get(q.ctx(), q.id.Subscription, q.group(), q.name(0)))
		},
		put: func(q *request) (any, bool, error) {
			var b registryBody
			if err := decodeBody(q.r, &b); err != nil {
				return nil, false, err
			}
			return putOf(h.toRegistry)(h.registries.Put(q.ctx(), q.id.Subscription, q.group(), q.name(0), b.spec()))
		},
		patch: func(q *request) (any, error) {
			var b registryBody
			if err := decodeBody(q.r, &b); err != nil {
				return nil, err
			}
			return viewOf(h.toRegistry)(h.registries.Patch(q.ctx(), q.id.Subscription, q.group(), q.name(0), b.spec()))
		},
		del: func(q *request) (bool, error) {
			return h.registries.Delete(q.ctx(), q.id.Subscription, q.group(), q.name(0))
		},
	}
}

// mountRegistryExtras puts checkNameAvailability on mux: a POST on the
// subscription's provider, not on a resource.
func (h *Handler) mountRegistryExtras(mux *router.Mux) {
	if h.registries == nil {
		return
	}
	mux.Handle(router.Route{Method: http.MethodPost, Pattern: pSub + "/providers/Microsoft.ContainerRegistry/checkNameAvailability",
		Access: router.Action("Microsoft.ContainerRegistry/checkNameAvailability/read"), Protocol: armProtocol, MaxBody: MaxBodyBytes,
		Handler: h.endpoint(func(q *request) error {
			if err := checkAPIVersion(q.r, registryAPIVersions, TypeRegistry); err != nil {
				return err
			}
			var b struct {
				Name string `json:"name"`
				Type string `json:"type"`
			}
			if err := decodeBody(q.r, &b); err != nil {
				return err
			}
			if b.Type != "" && !strings.EqualFold(b.Type, TypeRegistry) {
				return newError(http.StatusBadRequest, "InvalidResourceType", "The resource type '"+b.Type+"' is not Microsoft.ContainerRegistry/registries.")
			}
			v, err := h.registries.CheckName(q.ctx(), b.Name)
			if err != nil {
				return err
			}
			writeJSON(q.w, http.StatusOK, v)
			return nil
		})})
	// Geo-replications: a Ward registry serves from its one listener and
	// has none (Terraform's azurerm lists them on every refresh).
	mux.Handle(router.Route{Method: http.MethodGet, Pattern: pRegistry + "/replications",
		Access: router.Action(TypeRegistry + "/replications/read"), Protocol: armProtocol, MaxBody: MaxBodyBytes,
		Handler: h.endpoint(func(q *request) error {
			if err := checkAPIVersion(q.r, registryAPIVersions, TypeRegistry); err != nil {
				return err
			}
			if _, err := h.registries.Get(q.ctx(), q.id.Subscription, q.group(), q.name(0)); err != nil {
				return err
			}
			writeList(q.w, q.r, []any{}, "")
			return nil
		})})
}
