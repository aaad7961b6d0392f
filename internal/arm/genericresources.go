package arm

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"

	"github.com/ward-id/ward/internal/armerr"
	"github.com/ward-id/ward/internal/resourceid"
	"github.com/ward-id/ward/internal/router"
)

// Generic resource lists (Microsoft.Resources): every top-level resource
// of a group, GET .../resourceGroups/{rg}/resources, or of a subscription,
// GET .../resources, each in ARM's generic shape (id, name, type,
// location, tags). Terraform's azurerm lists a group's resources before it
// deletes the group (it refuses to delete one that still holds some), and
// finds a vault by its URI through the subscription list filtered on
// resourceType; `az resource list` reads both. Child resources (federated
// credentials, agent pools) are not listed, as in ARM.

// genericResource is ARM's GenericResourceExpanded, the part Ward has.
type genericResource struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Type     string            `json:"type"`
	Location string            `json:"location"`
	Tags     map[string]string `json:"tags,omitempty"`
}

func (h *Handler) mountGenericResources(add func(method, pattern string, a router.Access, fn func(*request) error)) {
	add("GET", pGroup+"/resources", router.Action("Microsoft.Resources/subscriptions/resourceGroups/resources/read"), func(q *request) error {
		return h.serveResources(q, q.group())
	})
	add("GET", pSub+"/resources", router.Action("Microsoft.Resources/subscriptions/resources/read"), func(q *request) error {
		return h.serveResources(q, "")
	})
}

func (h *Handler) serveResources(q *request, rg string) error {
	if err := checkAPIVersion(q.r, resourceGroupAPIVersions, "resources"); err != nil {
		return err
	}
	match, err := parseResourceFilter(q.r.URL.Query().Get("$filter"))
	if err != nil {
		return err
	}
	if rg != "" {
		if _, err := h.groups.Group(q.ctx(), q.id.Subscription, rg); err != nil {
			return err
		}
	} else if _, err := h.groups.Subscription(q.ctx(), q.id.Subscription); err != nil {
		return err
	}
	all, err := h.genericResources(q, rg)
	if err != nil {
		return err
	}
	out := []genericResource{}
	for _, r := range all {
		if match(r) {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].ID) < strings.ToLower(out[j].ID) })
	writeList(q.w, q.r, out, "")
	return nil
}

// genericResources collects the top-level resources of every type in the
// table (types.go) — a type directly under a provider namespace with a
// list, so identities, vaults, clusters, machines, registries, storage
// accounts and whatever is added later — in a subscription or one of its
// groups, through each type's own list, every page of it.
func (h *Handler) genericResources(q *request, rg string) ([]genericResource, error) {
	var out []genericResource
	for _, t := range h.types() {
		if t.list == nil || strings.HasPrefix(t.rbacType, "Microsoft.Resources/") || strings.Count(t.rbacType, "/") != 1 {
			continue
		}
		items, err := h.listAll(q, t, resourceid.ID{Subscription: q.id.Subscription, ResourceGroup: rg})
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			g, err := asGeneric(it)
			if err != nil {
				return nil, err
			}
			out = append(out, g)
		}
	}
	return out, nil
}

// asGeneric is a resource's answer reduced to the generic shape.
func asGeneric(v any) (genericResource, error) {
	var g genericResource
	b, err := json.Marshal(v)
	if err != nil {
		return g, err
	}
	err = json.Unmarshal(b, &g)
	if len(g.Tags) == 0 {
		g.Tags = nil
	}
	return g, err
}

// filterClauseRE is one clause of a resources $filter: field eq 'value'.
var filterClauseRE = regexp.MustCompile(`(?i)^\s*(resourceType|name|location|resourceGroup)\s+eq\s+'((?:[^']|'')*)'\s*$`)

var filterAndRE = regexp.MustCompile(`(?i)\s+and\s+`)

// parseResourceFilter reads the $filter clauses Ward answers, joined with
// "and": resourceType, name, location and resourceGroup, each "eq" and
// compared in any case, as ARM does. Anything else is ARM's 400, rather
// than a list that silently ignores part of the filter.
func parseResourceFilter(f string) (func(genericResource) bool, error) {
	if strings.TrimSpace(f) == "" {
		return func(genericResource) bool { return true }, nil
	}
	type clause struct{ field, value string }
	var cs []clause
	for _, part := range filterAndRE.Split(f, -1) {
		m := filterClauseRE.FindStringSubmatch(part)
		if m == nil {
			return nil, newError(http.StatusBadRequest, armerr.CodeInvalidFilter, fmt.Sprintf(
				"The $filter '%s' is not supported: Ward answers resourceType, name, location and resourceGroup eq '<value>', joined with 'and'.", f))
		}
		cs = append(cs, clause{strings.ToLower(m[1]), strings.ReplaceAll(m[2], "''", "'")})
	}
	return func(r genericResource) bool {
		for _, c := range cs {
			var got string
			switch c.field {
			case "resourcetype":
				got = r.Type
			case "name":
				got = r.Name
			case "location":
				got = r.Location
			case "resourcegroup":
				if parts := strings.Split(r.ID, "/"); len(parts) > 4 {
					got = parts[4]
				}
			}
			if !strings.EqualFold(got, c.value) {
				return false
			}
		}
		return true
	}, nil
}
