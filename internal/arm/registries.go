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
		LoginServer       string `json:"loginServer"`
		CreationDate      string `json:"creationDate"`
		ProvisioningState string `json:"provisioningState"`
		AdminUserEnabled  bool   `json:"adminUserEnabled"`
		// RoleAssignmentMode is how Ward authorizes a registry: AcrPull,
		// AcrPush and AcrDelete at the registry (or above), Azure's
		// LegacyRegistryPermissions; it has no per-repository ABAC mode.
		RoleAssignmentMode string `json:"roleAssignmentMode"`
	} `json:"properties"`
}

// registryDefaults are Azure's answers for the properties of a registry
// that Ward stores as declared but does not act on (withEchoDefaults): a
// Ward registry serves on Ward's one listener, in one zone, without
// network rules, anonymous pulls, a data endpoint or customer keys.
func registryDefaults() map[string]any {
	return map[string]any{"properties": map[string]any{
		"publicNetworkAccess": "Enabled", "networkRuleBypassOptions": "AzureServices", "zoneRedundancy": "Disabled",
		"anonymousPullEnabled": false, "dataEndpointEnabled": false, "encryption": map[string]any{"status": "disabled"},
	}}
}

// toRegistry is a registry's answer: what Ward computes, with what the
// user declared filled in, then Azure's defaults (echo.go).
func (h *Handler) toRegistry(r storage.Registry) any {
	return answerWith(h.registryView(r), r.Echo, registryDefaults())
}

func (h *Handler) registryView(r storage.Registry) registryJSON {
	j := registryJSON{ID: registry.ResourceID(r), Name: r.Name, Type: TypeRegistry, Location: r.Location, Tags: r.Tags}
	if j.Tags == nil {
		j.Tags = map[string]string{}
	}
	j.SKU.Name, j.SKU.Tier = r.SKU, r.SKU
	p := &j.Properties
	p.LoginServer, p.CreationDate, p.ProvisioningState = h.registries.Hosts.LoginServer(r.Name), r.CreatedAt.UTC().Format("2006-01-02T15:04:05.0000000Z"), "Succeeded"
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
	declared
}

// registryEchoDrop are the paths of a registry request not echoed:
// stored as fields (the SKU) or computed.
var registryEchoDrop = [][]string{
	{"id"}, {"name"}, {"type"}, {"sku"}, {"systemData"},
	{"properties", "loginServer"}, {"properties", "creationDate"}, {"properties", "provisioningState"},
	{"properties", "status"}, {"properties", "dataEndpointHostNames"}, {"properties", "privateEndpointConnections"},
}

// spec is what a PUT (merge false) or PATCH (merge true) of b sets.
func (b registryBody) spec(merge bool) (registry.Spec, error) {
	s := registry.Spec{Location: b.Location, Tags: b.Tags}
	if b.SKU != nil {
		s.SKU = &b.SKU.Name
	}
	if b.Properties != nil {
		s.AdminUserEnabled = b.Properties.AdminUserEnabled
	}
	echo, err := echoOf(b.raw, registryEchoDrop...)
	if err != nil {
		return s, err
	}
	s.Echo = echoReplace(echo)
	if merge {
		s.Echo = echoMerge(echo)
	}
	return s, nil
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
	return groupCRUD[registry.Spec, storage.Registry, any]{
		list: h.registries.List, get: h.registries.Get, put: h.registries.Put,
		patch: h.registries.Patch, delete: h.registries.Delete,
		spec: specFrom[registryBody], view: h.toRegistry,
	}.verbs(&resourceType{
		rbacType: TypeRegistry, apiType: TypeRegistry, versions: registryAPIVersions,
		pattern: pRegistry, collections: []string{pSub + prov, pGroup + prov},
		parent: h.groupParent, asyncPut: ProviderContainerRegistry,
	})
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
