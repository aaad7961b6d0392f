package policy

import (
	"fmt"
	"sort"
	"strings"
)

// Alias maps a policy alias to where the value lives in a resource's
// request body (a dotted path; a segment ending in [*] is an array whose
// members the condition is applied to).
type Alias struct {
	Name string
	Path string
}

// aliases are the ones identity governance needs, by lower-cased name.
// Azure publishes thousands; Ward serves the resource types below, and a
// definition naming any other alias is refused when it is created rather
// than silently never matching.
var aliases = func() map[string]Alias {
	const (
		fic     = "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/"
		uami    = "Microsoft.ManagedIdentity/userAssignedIdentities/"
		ra      = "Microsoft.Authorization/roleAssignments/"
		rd      = "Microsoft.Authorization/roleDefinitions/"
		mc      = "Microsoft.ContainerService/managedClusters/"
		kv      = "Microsoft.KeyVault/vaults/"
		acr     = "Microsoft.ContainerRegistry/registries/"
		storage = "Microsoft.Storage/storageAccounts/"
		hc      = "Microsoft.HybridCompute/machines/"
	)
	list := []Alias{
		{fic + "issuer", "properties.issuer"},
		{fic + "subject", "properties.subject"},
		{fic + "audiences", "properties.audiences"},
		{fic + "audiences[*]", "properties.audiences[*]"},
		{fic + "claimsMatchingExpression", "properties.claimsMatchingExpression"},
		{fic + "claimsMatchingExpression.value", "properties.claimsMatchingExpression.value"},
		{fic + "claimsMatchingExpression.languageVersion", "properties.claimsMatchingExpression.languageVersion"},
		{uami + "isolationScope", "properties.isolationScope"},
		{uami + "clientId", "properties.clientId"},
		{uami + "principalId", "properties.principalId"},
		{ra + "principalType", "properties.principalType"},
		{ra + "principalId", "properties.principalId"},
		{ra + "roleDefinitionId", "properties.roleDefinitionId"},
		{ra + "scope", "properties.scope"},
		{ra + "description", "properties.description"},
		{ra + "condition", "properties.condition"},
		{ra + "delegatedManagedIdentityResourceId", "properties.delegatedManagedIdentityResourceId"},
		{rd + "roleName", "properties.roleName"},
		{rd + "type", "properties.type"},
		{rd + "permissions[*].actions[*]", "properties.permissions[*].actions[*]"},
		{rd + "assignableScopes[*]", "properties.assignableScopes[*]"},
		{mc + "oidcIssuerProfile.enabled", "properties.oidcIssuerProfile.enabled"},
		{mc + "oidcIssuerProfile.issuerURL", "properties.oidcIssuerProfile.issuerURL"},
		{mc + "securityProfile.workloadIdentity.enabled", "properties.securityProfile.workloadIdentity.enabled"},
		{mc + "securityProfile.workloadIdentity", "properties.securityProfile.workloadIdentity"},
		{mc + "kubernetesVersion", "properties.kubernetesVersion"},
		{mc + "dnsPrefix", "properties.dnsPrefix"},
		{mc + "nodeResourceGroup", "properties.nodeResourceGroup"},
		{mc + "identityProfile", "properties.identityProfile"},
		{mc + "aadProfile.enableAzureRBAC", "properties.aadProfile.enableAzureRBAC"},
		{mc + "disableLocalAccounts", "properties.disableLocalAccounts"},
		{kv + "enableRbacAuthorization", "properties.enableRbacAuthorization"},
		{kv + "enableSoftDelete", "properties.enableSoftDelete"},
		{kv + "enablePurgeProtection", "properties.enablePurgeProtection"},
		{kv + "publicNetworkAccess", "properties.publicNetworkAccess"},
		{kv + "sku.name", "properties.sku.name"},
		{acr + "adminUserEnabled", "properties.adminUserEnabled"},
		{acr + "sku.name", "sku.name"},
		{storage + "allowSharedKeyAccess", "properties.allowSharedKeyAccess"},
		{storage + "allowBlobPublicAccess", "properties.allowBlobPublicAccess"},
		{storage + "sku.name", "sku.name"},
		{hc + "osName", "properties.osName"},
	}
	m := make(map[string]Alias, len(list))
	for _, a := range list {
		m[strings.ToLower(a.Name)] = a
	}
	return m
}()

// Aliases lists the aliases Ward knows, sorted by name.
func Aliases() []Alias {
	out := make([]Alias, 0, len(aliases))
	for _, a := range aliases {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Resource is what a policy is evaluated against: a resource as its PUT
// body describes it, with the ID, type and name its path gives.
type Resource struct {
	// ID is the resource's ID; Type its full type
	// (Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials);
	// Name its last name segment.
	ID, Type, Name string
	// Body is the resource's JSON (location, tags, properties, sku,
	// identity, kind, ...), decoded.
	Body map[string]any

	// fields caches resolved fields: a rule reads the same ones many
	// times (field() inside expressions). A Resource is evaluated by one
	// goroutine at a time.
	fields map[string]fieldValue
}

type fieldValue struct {
	v    any
	path string
}

// NewResource builds a Resource from a decoded JSON body (nil for none).
func NewResource(id, typ string, body map[string]any) *Resource {
	if body == nil {
		body = map[string]any{}
	}
	b, _ := normalize(body).(map[string]any)
	name := id
	if i := strings.LastIndex(id, "/"); i >= 0 {
		name = id[i+1:]
	}
	return &Resource{ID: id, Type: typ, Name: name, Body: b}
}

// fullName is the names of the resource and its parents joined by '/'
// (identity/credential), as the fullName field is.
func (r *Resource) fullName() string {
	parts := strings.Split(strings.Trim(r.ID, "/"), "/")
	for i := range parts {
		if strings.EqualFold(parts[i], "providers") && i+2 < len(parts) {
			rest := parts[i+2:]
			var names []string
			for j := 1; j < len(rest); j += 2 {
				names = append(names, rest[j])
			}
			return strings.Join(names, "/")
		}
	}
	return r.Name
}

// fieldPath resolves a field name to the path reported in
// evaluatedExpressions and whether it names an alias; an unknown field is
// an error (the definition is refused).
func fieldPath(field string) (path string, err error) {
	lf := strings.ToLower(field)
	switch lf {
	case "type", "name", "fullname", "id", "location", "kind", "tags", "identity.type", "identity.userassignedidentities":
		return field, nil
	}
	if strings.HasPrefix(lf, "tags[") && strings.HasSuffix(lf, "]") {
		k := field[5 : len(field)-1]
		if len(k) >= 2 && k[0] == '\'' && k[len(k)-1] == '\'' {
			k = k[1 : len(k)-1]
		}
		return "tags." + k, nil
	}
	if strings.HasPrefix(lf, "tags.") && len(field) > 5 {
		return "tags." + field[5:], nil
	}
	if a, ok := aliases[lf]; ok {
		return a.Path, nil
	}
	return "", fmt.Errorf("the policy alias '%s' is not known to Ward; known fields are type, name, fullName, id, location, kind, tags, tags['<name>'], identity.type and the aliases listed in docs/policy.md", field)
}

// Field returns a field's value, its path, and whether the field is an
// array alias ([*]) whose value is the list of its members.
func (r *Resource) Field(field string) (any, string, error) {
	if fv, ok := r.fields[field]; ok {
		return fv.v, fv.path, nil
	}
	path, err := fieldPath(field)
	if err != nil {
		return nil, "", err
	}
	var v any
	switch strings.ToLower(path) {
	case "type":
		v = r.Type
	case "name":
		v = r.Name
	case "fullname":
		v = r.fullName()
	case "id":
		v = r.ID
	default:
		v = resolvePath(r.Body, path)
	}
	if r.fields == nil {
		r.fields = map[string]fieldValue{}
	}
	r.fields[field] = fieldValue{v, path}
	return v, path, nil
}

// resolvePath walks a dotted path without regard to case; a segment
// ending in [*] collects the members of an array (flattened), nil when
// anything on the way is missing.
func resolvePath(v any, path string) any {
	segs := strings.Split(path, ".")
	// Tag names may hold dots: tags.<rest> is one key.
	if strings.EqualFold(segs[0], "tags") && len(segs) > 2 {
		segs = []string{segs[0], strings.Join(segs[1:], ".")}
	}
	return walk(v, segs)
}

func walk(v any, segs []string) any {
	if len(segs) == 0 {
		return v
	}
	seg, array := segs[0], false
	if strings.HasSuffix(seg, "[*]") {
		seg, array = strings.TrimSuffix(seg, "[*]"), true
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	next, err := lookupKey(m, seg)
	if err != nil {
		return nil
	}
	if !array {
		return walk(next, segs[1:])
	}
	arr, ok := next.([]any)
	if !ok {
		return nil
	}
	out := []any{}
	for _, x := range arr {
		w := walk(x, segs[1:])
		if inner, ok := w.([]any); ok && len(segs) > 1 && strings.Contains(strings.Join(segs[1:], "."), "[*]") {
			out = append(out, inner...)
			continue
		}
		out = append(out, w)
	}
	return out
}

// isArrayField reports whether a field is an array alias ([*]), whose
// conditions hold only when every member satisfies them.
func isArrayField(field string) bool {
	p, err := fieldPath(field)
	return err == nil && strings.Contains(p, "[*]")
}
