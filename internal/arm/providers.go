package arm

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/ward-id/ward/internal/armerr"
	"github.com/ward-id/ward/internal/router"
)

// Resource providers (Microsoft.Resources/providers) and preview features
// (Microsoft.Features), as az and Terraform read them: `az provider
// list/show/register`, `az feature register` (the guides register AKS
// previews), Terraform's registration check at start-up, and az's
// api-version discovery (`az resource show/update` without --api-version
// reads resourceTypes[].apiVersions of the type's namespace).
//
// Ward gates nothing behind registration: every namespace it serves is
// registered in every subscription, and every feature is on. So
// register answers "Registered"; unregister is refused (409) for a
// namespace Ward serves, as it can never be unregistered; a namespace Ward
// does not serve is ARM's 404 InvalidResourceNamespace.

var providerAPIVersions = []string{"2014-04-01", "2015-01-01", "2015-11-01", "2016-02-01", "2016-09-01", "2018-05-01", "2019-05-10",
	"2019-10-01", "2020-06-01", "2021-01-01", "2021-04-01", "2022-09-01", "2023-07-01", "2024-03-01", "2024-07-01", "2024-11-01", "2025-03-01", "2025-04-01"}

var featureAPIVersions = []string{"2015-12-01", "2021-07-01"}

// providerType is one resourceTypes entry of a provider.
type providerType struct {
	ResourceType string   `json:"resourceType"`
	Locations    []string `json:"locations"`
	APIVersions  []string `json:"apiVersions"`
}

type providerJSON struct {
	ID                string         `json:"id"`
	Namespace         string         `json:"namespace"`
	RegistrationState string         `json:"registrationState"`
	RegistrationPol   string         `json:"registrationPolicy"`
	ResourceTypes     []providerType `json:"resourceTypes"`
}

// providers lists the namespaces Ward serves with their resource types
// and api-versions (newest first, as ARM lists them), from the type table.
func (h *Handler) providers() map[string][]providerType {
	out := map[string][]providerType{}
	add := func(fullType string, versions []string) {
		ns, typ, ok := strings.Cut(fullType, "/")
		if !ok {
			return
		}
		v := slices.Clone(versions)
		sort.Sort(sort.Reverse(sort.StringSlice(v)))
		out[ns] = append(out[ns], providerType{ResourceType: typ, Locations: []string{}, APIVersions: v})
	}
	for _, t := range h.types() {
		add(t.rbacType, t.versions)
	}
	add(TypeActivityLog, activityAPIVersions)
	add("Microsoft.Authorization/roleAssignments", roleAPIVersionsForProviders)
	add("Microsoft.Authorization/roleDefinitions", roleAPIVersionsForProviders)
	add("Microsoft.Resources/providers", providerAPIVersions)
	add("Microsoft.Features/features", featureAPIVersions)
	return out
}

// roleAPIVersionsForProviders are the role api-versions az and the SDKs
// send (the role handlers accept these and later ones).
var roleAPIVersionsForProviders = []string{"2018-01-01-preview", "2020-04-01-preview", "2022-04-01"}

func (h *Handler) providerJSON(sub, ns string, types []providerType) providerJSON {
	return providerJSON{ID: "/subscriptions/" + sub + "/providers/" + ns, Namespace: ns, RegistrationState: "Registered",
		RegistrationPol: "RegistrationRequired", ResourceTypes: types}
}

// provider finds a served namespace, any case.
func (h *Handler) provider(ns string) (string, []providerType, error) {
	for name, types := range h.providers() {
		if strings.EqualFold(name, ns) {
			return name, types, nil
		}
	}
	return "", nil, newError(http.StatusNotFound, armerr.CodeInvalidResourceNS, fmt.Sprintf(
		"The resource namespace '%s' is invalid or not served by Ward. Ward serves %s.", ns, strings.Join(h.namespaces(), ", ")))
}

func (h *Handler) namespaces() []string {
	var out []string
	for ns := range h.providers() {
		out = append(out, ns)
	}
	sort.Strings(out)
	return out
}

// mountProviders puts the provider and feature routes on mux.
func (h *Handler) mountProviders(add func(method, pattern string, a router.Access, fn func(*request) error)) {
	const (
		readProviders = "Microsoft.Resources/subscriptions/providers/read"
		register      = "Microsoft.Resources/subscriptions/providers/register/action"
		readFeatures  = "Microsoft.Features/features/read"
		regFeature    = "Microsoft.Features/providers/features/register/action"
	)
	check := func(q *request, versions []string, typ string) error {
		if err := checkAPIVersion(q.r, versions, typ); err != nil {
			return err
		}
		_, err := h.groups.Subscription(q.ctx(), q.id.Subscription)
		return err
	}
	add("GET", pSub+"/providers", router.Action(readProviders), func(q *request) error {
		if err := check(q, providerAPIVersions, "providers"); err != nil {
			return err
		}
		all := h.providers()
		out := []any{}
		for _, ns := range h.namespaces() {
			out = append(out, h.providerJSON(q.id.Subscription, ns, all[ns]))
		}
		writeList(q.w, q.r, out, "")
		return nil
	})
	one := func(state string) func(q *request) error {
		return func(q *request) error {
			if err := check(q, providerAPIVersions, "providers"); err != nil {
				return err
			}
			ns, types, err := h.provider(pathParam(q, "resourceProviderNamespace"))
			if err != nil {
				return err
			}
			if state == "Unregistered" {
				return newError(http.StatusConflict, armerr.CodeConflict, fmt.Sprintf(
					"Ward serves '%s' in every subscription; it cannot be unregistered. Nothing in Ward depends on registration.", ns))
			}
			writeJSON(q.w, http.StatusOK, h.providerJSON(q.id.Subscription, ns, types))
			return nil
		}
	}
	pNS := pSub + "/providers/{resourceProviderNamespace}"
	add("GET", pNS, router.Action(readProviders), one("Registered"))
	add("POST", pNS+"/register", router.Action(register), one("Registered"))
	add("POST", pNS+"/unregister", router.Action(register), one("Unregistered"))

	feature := func(q *request) error {
		if err := check(q, featureAPIVersions, "features"); err != nil {
			return err
		}
		ns, name := pathParam(q, "featureNamespace"), pathParam(q, "featureName")
		writeJSON(q.w, http.StatusOK, featureJSON(q.id.Subscription, ns, name))
		return nil
	}
	features := func(q *request) error {
		if err := check(q, featureAPIVersions, "features"); err != nil {
			return err
		}
		out := []any{}
		for _, f := range knownFeatures {
			ns, name, _ := strings.Cut(f, "/")
			if want := pathParam(q, "featureNamespace"); want == "" || strings.EqualFold(want, ns) {
				out = append(out, featureJSON(q.id.Subscription, ns, name))
			}
		}
		writeList(q.w, q.r, out, "")
		return nil
	}
	pFeatures := pSub + "/providers/Microsoft.Features"
	add("GET", pFeatures+"/features", router.Action(readFeatures), features)
	add("GET", pFeatures+"/providers/{featureNamespace}/features", router.Action(readFeatures), features)
	add("GET", pFeatures+"/providers/{featureNamespace}/features/{featureName}", router.Action(readFeatures), feature)
	add("POST", pFeatures+"/providers/{featureNamespace}/features/{featureName}/register", router.Action(regFeature), feature)
	add("POST", pFeatures+"/providers/{featureNamespace}/features/{featureName}/unregister", router.Action(regFeature), func(q *request) error {
		return newError(http.StatusConflict, armerr.CodeConflict, fmt.Sprintf(
			"Ward has every feature on; '%s/%s' cannot be unregistered.", pathParam(q, "featureNamespace"), pathParam(q, "featureName")))
	})
}

// knownFeatures are the preview features the guides register; `az feature
// list` shows them, and any other name answers Registered as well.
var knownFeatures = []string{
	"Microsoft.ContainerService/UserAssignedIdentityPreview",
	"Microsoft.ContainerService/EnableWorkloadIdentityPreview",
	"Microsoft.ContainerService/EnableOIDCIssuerPreview",
	"Microsoft.ContainerService/EnableImageCleanerPreview",
}

func featureJSON(sub, ns, name string) map[string]any {
	return map[string]any{
		"id":         "/subscriptions/" + sub + "/providers/Microsoft.Features/providers/" + ns + "/features/" + name,
		"name":       ns + "/" + name,
		"type":       "Microsoft.Features/providers/features",
		"properties": map[string]string{"state": "Registered"},
	}
}

// pathParam is the path parameter name of q's route.
func pathParam(q *request, name string) string {
	_, params, _ := router.FromContext(q.ctx())
	return params[name]
}
