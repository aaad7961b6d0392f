package arm

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/ward-id/ward/internal/armerr"
	"github.com/ward-id/ward/internal/policy"
	"github.com/ward-id/ward/internal/router"
)

// Azure Policy's management surface: definitions (built-in ones at
// /providers/Microsoft.Authorization/policyDefinitions, custom ones at a
// subscription) and assignments at any scope ('/', a subscription, a group,
// a resource). The rules themselves are package policy's; enforcement on
// writes is policy_enforce.go, compliance policy_states.go.

const (
	TypePolicyDefinition = "Microsoft.Authorization/policyDefinitions"
	TypePolicyAssignment = "Microsoft.Authorization/policyAssignments"
	pBuiltInPolicies     = "/providers/Microsoft.Authorization/policyDefinitions"
	pSubPolicies         = pSub + "/providers/Microsoft.Authorization/policyDefinitions"
)

// policyAPIVersions: az 2.45 sends 2021-06-01; the Go SDK's armpolicy
// 2021-06-01 (v0.x) to 2023-04-01 and later ones.
var policyAPIVersions = []string{"2015-10-01-preview", "2015-11-01", "2016-04-01", "2016-12-01", "2017-06-01-preview", "2018-03-01", "2018-05-01",
	"2019-01-01", "2019-06-01", "2019-09-01", "2020-03-01", "2020-09-01", "2021-06-01", "2022-06-01", "2023-04-01", "2024-04-01", "2024-05-01", "2025-01-01", "2025-03-01"}

type policyDefinitionJSON struct {
	Properties policy.Properties `json:"properties"`
	ID         string            `json:"id"`
	Type       string            `json:"type"`
	Name       string            `json:"name"`
	SystemData *systemDataJSON   `json:"systemData,omitempty"`
}

type systemDataJSON struct {
	CreatedBy          string `json:"createdBy,omitempty"`
	CreatedByType      string `json:"createdByType,omitempty"`
	CreatedAt          string `json:"createdAt,omitempty"`
	LastModifiedBy     string `json:"lastModifiedBy,omitempty"`
	LastModifiedByType string `json:"lastModifiedByType,omitempty"`
	LastModifiedAt     string `json:"lastModifiedAt,omitempty"`
}

func systemData(by string, created, updated time.Time) *systemDataJSON {
	if created.IsZero() {
		return nil
	}
	return &systemDataJSON{CreatedBy: by, CreatedByType: "Application", CreatedAt: created.UTC().Format(time.RFC3339Nano),
		LastModifiedBy: by, LastModifiedByType: "Application", LastModifiedAt: updated.UTC().Format(time.RFC3339Nano)}
}

func toPolicyDefinition(d policy.StoredDefinition) policyDefinitionJSON {
	p := d.Props
	if p.Parameters == nil {
		p.Parameters = map[string]policy.ParameterDefinition{}
	}
	return policyDefinitionJSON{Properties: p, ID: d.ID, Type: TypePolicyDefinition, Name: d.Name, SystemData: systemData(d.CreatedBy, d.CreatedAt, d.UpdatedAt)}
}

type policyAssignmentJSON struct {
	Properties policy.AssignmentProperties `json:"properties"`
	ID         string                      `json:"id"`
	Type       string                      `json:"type"`
	Name       string                      `json:"name"`
	Location   string                      `json:"location,omitempty"`
	SystemData *systemDataJSON             `json:"systemData,omitempty"`
}

func toPolicyAssignment(a policy.StoredAssignment) policyAssignmentJSON {
	return policyAssignmentJSON{Properties: a.Props, ID: a.ID, Type: TypePolicyAssignment, Name: a.Name, Location: a.Location,
		SystemData: systemData(a.CreatedBy, a.CreatedAt, a.UpdatedAt)}
}

// policyError answers package policy's refusals in ARM's vocabulary.
func policyError(err error, what, name string) error {
	var pe *policy.Error
	switch {
	case errors.As(err, &pe):
		status := http.StatusBadRequest
		if pe.Code == "PolicyDefinitionNotFound" {
			status = http.StatusNotFound
		}
		return newError(status, pe.Code, pe.Message)
	case errors.Is(err, policy.ErrNotFound):
		code := "PolicyDefinitionNotFound"
		if what == "assignment" {
			code = "PolicyAssignmentNotFound"
		}
		return newError(http.StatusNotFound, code, fmt.Sprintf("The policy %s '%s' could not be found.", what, name))
	case errors.Is(err, policy.ErrInUse):
		return newError(http.StatusBadRequest, "PolicyDefinitionInUse", fmt.Sprintf("The policy definition '%s' cannot be deleted: %s. Delete its assignments first.", name, strings.TrimPrefix(err.Error(), policy.ErrInUse.Error()+": ")))
	}
	return err
}

func (h *Handler) mountPolicy(add func(method, pattern string, a router.Access, fn func(*request) error)) {
	builtIn := router.Handler("any authenticated caller: the built-in definitions are the same for every tenant and hold no data")
	add("GET", pBuiltInPolicies, builtIn, func(q *request) error {
		if err := checkAPIVersion(q.r, policyAPIVersions, TypePolicyDefinition); err != nil {
			return err
		}
		defs, err := h.policy.Definitions(q.ctx(), "")
		if err != nil {
			return err
		}
		writeList(q.w, q.r, mapList(defs, toPolicyDefinition), "")
		return nil
	})
	add("GET", pBuiltInPolicies+"/{policyDefinitionName}", builtIn, func(q *request) error {
		return h.policyDefinition(q, "/", q.authzName)
	})
	add("GET", pSubPolicies, router.Action(TypePolicyDefinition+"/read"), func(q *request) error {
		if err := checkAPIVersion(q.r, policyAPIVersions, TypePolicyDefinition); err != nil {
			return err
		}
		if _, err := h.groups.Subscription(q.ctx(), q.id.Subscription); err != nil {
			return err
		}
		defs, err := h.policy.Definitions(q.ctx(), q.id.Subscription)
		if err != nil {
			return err
		}
		if f := strings.TrimSpace(q.r.URL.Query().Get("$filter")); f != "" {
			t, ok := policyTypeFilter(f)
			if !ok {
				return newError(http.StatusBadRequest, armerr.CodeInvalidFilter, fmt.Sprintf("The $filter '%s' is not supported: use policyType eq 'BuiltIn' or 'Custom'.", f))
			}
			kept := defs[:0]
			for _, d := range defs {
				if strings.EqualFold(d.Props.PolicyType, t) {
					kept = append(kept, d)
				}
			}
			defs = kept
		}
		writeList(q.w, q.r, mapList(defs, toPolicyDefinition), "")
		return nil
	})
	for _, m := range []struct{ method, verb string }{{"GET", "read"}, {"PUT", "write"}, {"DELETE", "delete"}} {
		add(m.method, pSubPolicies+"/{policyDefinitionName}", router.Action(TypePolicyDefinition+"/"+m.verb), func(q *request) error {
			return h.policyDefinition(q, q.scope, q.authzName)
		})
	}
	add("GET", pAuthz+"/policyAssignments", router.Action(TypePolicyAssignment+"/read"), h.listPolicyAssignments)
	for _, m := range []struct{ method, verb string }{{"GET", "read"}, {"PUT", "write"}, {"DELETE", "delete"}} {
		add(m.method, pAuthz+"/policyAssignments/{policyAssignmentName}", router.Action(TypePolicyAssignment+"/"+m.verb), h.policyAssignment)
	}
	h.mountPolicyStates(add)
}

func policyTypeFilter(f string) (string, bool) {
	k, v, ok := strings.Cut(f, " eq ")
	v = strings.TrimSpace(v)
	if !ok || !strings.EqualFold(strings.TrimSpace(k), "policyType") || len(v) < 2 || v[0] != '\'' || v[len(v)-1] != '\'' {
		return "", false
	}
	return v[1 : len(v)-1], true
}

// policyDefinitionBody is a definition's PUT body.
type policyDefinitionBody struct {
	Properties *policy.Properties `json:"properties"`
}

func (h *Handler) policyDefinition(q *request, scope, name string) error {
	if err := checkAPIVersion(q.r, policyAPIVersions, TypePolicyDefinition); err != nil {
		return err
	}
	ctx := q.ctx()
	switch q.r.Method {
	case http.MethodGet:
		d, err := h.policy.Definition(ctx, scope, name)
		if err != nil {
			return policyError(err, "definition", name)
		}
		writeJSON(q.w, http.StatusOK, toPolicyDefinition(d))
	case http.MethodPut:
		if _, err := h.groups.Subscription(ctx, q.id.Subscription); err != nil {
			return err
		}
		var b policyDefinitionBody
		if err := decodeBody(q.r, &b); err != nil {
			return err
		}
		if b.Properties == nil {
			return newError(http.StatusBadRequest, armerr.CodeInvalidRequestContent, "The policy definition needs properties with a policyRule.")
		}
		d, created, err := h.policy.PutDefinition(ctx, scope, name, *b.Properties, q.principal.ObjectID)
		if err != nil {
			return policyError(err, "definition", name)
		}
		writePut(q.w, created, toPolicyDefinition(d))
	case http.MethodDelete:
		found, err := h.policy.DeleteDefinition(ctx, scope, name)
		if err != nil {
			return policyError(err, "definition", name)
		}
		writeDelete(q.w, found)
	default:
		return methodNotAllowed(q.r, "GET", "PUT", "DELETE")
	}
	return nil
}

// policyAssignmentBody is an assignment's PUT body.
type policyAssignmentBody struct {
	Properties *policy.AssignmentProperties `json:"properties"`
	Location   string                       `json:"location"`
	Identity   *struct {
		Type string `json:"type"`
	} `json:"identity"`
}

func (h *Handler) policyAssignment(q *request) error {
	if err := checkAPIVersion(q.r, policyAPIVersions, TypePolicyAssignment); err != nil {
		return err
	}
	ctx, scope, name := q.ctx(), q.scope, q.authzName
	switch q.r.Method {
	case http.MethodGet:
		a, err := h.policy.AssignmentAt(ctx, scope, name)
		if err != nil {
			return policyError(err, "assignment", name)
		}
		writeJSON(q.w, http.StatusOK, toPolicyAssignment(a))
	case http.MethodPut:
		if err := h.scopeExists(q); err != nil {
			return err
		}
		var b policyAssignmentBody
		if err := decodeBody(q.r, &b); err != nil {
			return err
		}
		if b.Properties == nil {
			return newError(http.StatusBadRequest, armerr.CodeInvalidRequestContent, "The policy assignment needs properties with a policyDefinitionId.")
		}
		if b.Identity != nil && b.Identity.Type != "" && !strings.EqualFold(b.Identity.Type, "None") {
			return newError(http.StatusBadRequest, armerr.CodeInvalidRequestContent,
				"Ward's policy effects (deny, audit, disabled) deploy and modify nothing, so an assignment takes no managed identity; leave identity out.")
		}
		a, created, err := h.policy.PutAssignment(ctx, scope, name, b.Location, *b.Properties, q.principal.ObjectID)
		if err != nil {
			return policyError(err, "assignment", name)
		}
		writePut(q.w, created, toPolicyAssignment(a))
	case http.MethodDelete:
		a, err := h.policy.AssignmentAt(ctx, scope, name)
		if errors.Is(err, policy.ErrNotFound) {
			q.w.WriteHeader(http.StatusNoContent)
			return nil
		}
		if err != nil {
			return err
		}
		found, err := h.policy.DeleteAssignment(ctx, scope, name)
		if err != nil {
			return err
		}
		if !found {
			q.w.WriteHeader(http.StatusNoContent)
			return nil
		}
		writeJSON(q.w, http.StatusOK, toPolicyAssignment(a))
	default:
		return methodNotAllowed(q.r, "GET", "PUT", "DELETE")
	}
	return nil
}

// scopeExists answers ARM's 404 for an assignment under a subscription or
// group that does not exist ('/' always exists).
func (h *Handler) scopeExists(q *request) error {
	if q.id.Subscription == "" {
		return nil
	}
	if _, err := h.groups.Subscription(q.ctx(), q.id.Subscription); err != nil {
		return err
	}
	if q.id.ResourceGroup != "" {
		if _, err := h.groups.Group(q.ctx(), q.id.Subscription, q.id.ResourceGroup); err != nil {
			return err
		}
	}
	return nil
}

func (h *Handler) listPolicyAssignments(q *request) error {
	if err := checkAPIVersion(q.r, policyAPIVersions, TypePolicyAssignment); err != nil {
		return err
	}
	filter, def, err := parsePolicyAssignmentFilter(q.r.URL.Query().Get("$filter"))
	if err != nil {
		return err
	}
	items, err := h.policy.Assignments(q.ctx(), q.scope, filter, def)
	if err != nil {
		return err
	}
	sort.Slice(items, func(i, j int) bool { return strings.ToLower(items[i].ID) < strings.ToLower(items[j].ID) })
	writeList(q.w, q.r, mapList(items, toPolicyAssignment), "")
	return nil
}

// parsePolicyAssignmentFilter reads atScope(), atExactScope() and
// policyDefinitionId eq '{id}', as ARM's list takes them.
func parsePolicyAssignmentFilter(f string) (scope, definition string, err error) {
	f = strings.TrimSpace(f)
	if f == "" {
		return policy.FilterAll, "", nil
	}
	for _, part := range filterAndRE.Split(f, -1) {
		part = strings.TrimSpace(part)
		switch {
		case strings.EqualFold(part, policy.FilterAtScope):
			scope = policy.FilterAtScope
		case strings.EqualFold(part, policy.FilterAtExactScope):
			scope = policy.FilterAtExactScope
		default:
			k, v, ok := strings.Cut(part, " eq ")
			v = strings.TrimSpace(v)
			if !ok || !strings.EqualFold(strings.TrimSpace(k), "policyDefinitionId") || len(v) < 2 || v[0] != '\'' || v[len(v)-1] != '\'' {
				return "", "", newError(http.StatusBadRequest, armerr.CodeInvalidFilter, fmt.Sprintf(
					"The $filter '%s' is not supported: use atScope(), atExactScope() or policyDefinitionId eq '{id}'.", f))
			}
			definition = v[1 : len(v)-1]
		}
	}
	return scope, definition, nil
}

// marshalMap is v's JSON as a map, for evaluation.
func marshalMap(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(b, &m)
}
