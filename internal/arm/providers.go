package arm

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/ward-id/ward/internal/armerr"
	"github.com/ward-id/ward/internal/resources"
	"github.com/ward-id/ward/internal/router"
)

// Resource providers (Microsoft.Resources/providers) and preview features
// (Microsoft.Features), as az and Terraform read them: `az provider
// list/show/register`, `az feature register` (the guides register AKS
// previews), Terraform's registration check at start-up, and az's
// api-version discovery (`az resource show/update` without --api-version
// reads resourceTypes[].apiVersions of the type's namespace).
//
// Ward gates nothing behind registration: every namespace it serves works
// in every subscription, and every feature is on. Registration is still
// kept as set (resources.Service.SetRegistration, durable and shared by
// every replica): a namespace or feature is Registered until unregistered,
// and reads back Unregistered until registered again, so `az provider
// unregister` and `az feature unregister` answer what they would on Azure
// (at once: Ward has nothing to wind down, so never "Unregistering"). A
// namespace Ward does not serve is ARM's 404 InvalidResourceNamespace.

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

func (h *Handler) providerJSON(sub, ns, state string, types []providerType) providerJSON {
	return providerJSON{ID: "/subscriptions/" + sub + "/providers/" + ns, Namespace: ns, RegistrationState: state,
		RegistrationPol: "RegistrationRequired", ResourceTypes: types}
}

// registrationState is the state of key (resources.RegistrationKey) in
// states: Registered unless stored otherwise.
func registrationState(states map[string]string, key string) string {
	if st, ok := states[key]; ok {
		return st
	}
	return resources.Registered
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
		unregister    = "Microsoft.Resources/subscriptions/providers/unregister/action"
		readFeatures  = "Microsoft.Features/features/read"
		regFeature    = "Microsoft.Features/providers/features/register/action"
		unregFeature  = "Microsoft.Features/providers/features/unregister/action"
	)
	add("GET", pSub+"/providers", router.Action(readProviders), h.providerList)
	pNS := pSub + "/providers/{resourceProviderNamespace}"
	add("GET", pNS, router.Action(readProviders), h.providerOne(""))
	add("POST", pNS+"/register", router.Action(register), h.providerOne(resources.Registered))
	add("POST", pNS+"/unregister", router.Action(unregister), h.providerOne(resources.Unregistered))

	pFeatures := pSub + "/providers/Microsoft.Features"
	add("GET", pFeatures+"/features", router.Action(readFeatures), h.featureList)
	add("GET", pFeatures+"/providers/{featureNamespace}/features", router.Action(readFeatures), h.featureList)
	add("GET", pFeatures+"/providers/{featureNamespace}/features/{featureName}", router.Action(readFeatures), h.featureOne(""))
	add("POST", pFeatures+"/providers/{featureNamespace}/features/{featureName}/register", router.Action(regFeature), h.featureOne(resources.Registered))
	add("POST", pFeatures+"/providers/{featureNamespace}/features/{featureName}/unregister", router.Action(unregFeature), h.featureOne(resources.Unregistered))
}

// registrationsCheck checks the api-version and that the subscription exists.
func (h *Handler) registrationsCheck(q *request, versions []string, typ string) error {
	if err := checkAPIVersion(q.r, versions, typ); err != nil {
		return err
	}
	_, err := h.groups.Subscription(q.ctx(), q.id.Subscription)
	return err
}

// registration sets the state of a namespace (name "") or a feature to
// set, or reads it when set is "".
func (h *Handler) registration(q *request, ns, name, set string) (string, error) {
	if set != "" {
		return set, h.groups.SetRegistration(q.ctx(), q.id.Subscription, ns, name, set)
	}
	states, err := h.groups.Registrations(q.ctx(), q.id.Subscription)
	return registrationState(states, resources.RegistrationKey(ns, name)), err
}

func (h *Handler) providerList(q *request) error {
	if err := h.registrationsCheck(q, providerAPIVersions, "providers"); err != nil {
		return err
	}
	states, err := h.groups.Registrations(q.ctx(), q.id.Subscription)
	if err != nil {
		return err
	}
	all := h.providers()
	out := []any{}
	for _, ns := range h.namespaces() {
		out = append(out, h.providerJSON(q.id.Subscription, ns, registrationState(states, resources.RegistrationKey(ns, "")), all[ns]))
	}
	writeList(q.w, q.r, out, "")
	return nil
}

// providerOne answers a namespace after setting its state to set ("" reads it).
func (h *Handler) providerOne(set string) func(q *request) error {
	return func(q *request) error {
		if err := h.registrationsCheck(q, providerAPIVersions, "providers"); err != nil {
			return err
		}
		ns, types, err := h.provider(pathParam(q, "resourceProviderNamespace"))
		if err != nil {
			return err
		}
		state, err := h.registration(q, ns, "", set)
		if err != nil {
			return err
		}
		writeJSON(q.w, http.StatusOK, h.providerJSON(q.id.Subscription, ns, state, types))
		return nil
	}
}

// featureOne answers a feature after setting its state to set ("" reads it).
func (h *Handler) featureOne(set string) func(q *request) error {
	return func(q *request) error {
		if err := h.registrationsCheck(q, featureAPIVersions, "features"); err != nil {
			return err
		}
		ns, name := pathParam(q, "featureNamespace"), pathParam(q, "featureName")
		if err := validFeatureName(ns, name); err != nil {
			return err
		}
		state, err := h.registration(q, ns, name, set)
		if err != nil {
			return err
		}
		writeJSON(q.w, http.StatusOK, featureJSON(q.id.Subscription, ns, name, state))
		return nil
	}
}

// featureList lists the known features, of one namespace when the path names one.
func (h *Handler) featureList(q *request) error {
	if err := h.registrationsCheck(q, featureAPIVersions, "features"); err != nil {
		return err
	}
	states, err := h.groups.Registrations(q.ctx(), q.id.Subscription)
	if err != nil {
		return err
	}
	want := pathParam(q, "featureNamespace")
	out := []any{}
	for _, f := range knownFeatures {
		ns, name, _ := strings.Cut(f, "/")
		if want == "" || strings.EqualFold(want, ns) {
			out = append(out, featureJSON(q.id.Subscription, ns, name, registrationState(states, resources.RegistrationKey(ns, name))))
		}
	}
	writeList(q.w, q.r, out, "")
	return nil
}

// maxFeatureName bounds what a feature registration stores: any name is
// accepted (Ward has every feature on), but not unboundedly.
const maxFeatureName = 256

func validFeatureName(ns, name string) error {
	if len(ns) > maxFeatureName || len(name) > maxFeatureName {
		return newError(http.StatusBadRequest, armerr.CodeInvalidRequestContent, fmt.Sprintf("A feature's namespace and name are at most %d characters each.", maxFeatureName))
	}
	return nil
}

// knownFeatures are the preview features the guides register; `az feature
// list` shows them, and any other name answers Registered as well.
var knownFeatures = []string{
	"Microsoft.ContainerService/UserAssignedIdentityPreview",
	"Microsoft.ContainerService/EnableWorkloadIdentityPreview",
	"Microsoft.ContainerService/EnableOIDCIssuerPreview",
	"Microsoft.ContainerService/EnableImageCleanerPreview",
}

func featureJSON(sub, ns, name, state string) map[string]any {
	return map[string]any{
		"id":         "/subscriptions/" + sub + "/providers/Microsoft.Features/providers/" + ns + "/features/" + name,
		"name":       ns + "/" + name,
		"type":       "Microsoft.Features/providers/features",
		"properties": map[string]string{"state": state},
	}
}

// pathParam is the path parameter name of q's route.
func pathParam(q *request, name string) string {
	_, params, _ := router.FromContext(q.ctx())
	return params.Get(name)
}
