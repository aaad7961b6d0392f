package arm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ward-id/ward/internal/armerr"
	"github.com/ward-id/ward/internal/authn"
	"github.com/ward-id/ward/internal/authz"
	"github.com/ward-id/ward/internal/policy"
	"github.com/ward-id/ward/internal/resourceid"
	"github.com/ward-id/ward/internal/router"
)

// Microsoft.PolicyInsights policy states: a compliance scan of the
// resources that exist now, evaluated against every assignment covering
// them, answered as queryResults (one state per resource and assignment)
// and summarize. Azure scans on a schedule and keeps history; Ward scans
// on each query, so "latest" and "default" are the same answer and always
// current.

const providerPolicyInsights = "Microsoft.PolicyInsights"

var policyInsightsAPIVersions = []string{"2017-08-09-preview", "2017-10-17-preview", "2017-12-12-preview", "2018-04-04", "2018-07-01-preview", "2019-10-01", "2022-09-01", "2024-10-01"}

func (h *Handler) mountPolicyStates(add func(method, pattern string, a router.Access, fn func(*request) error)) {
	for _, base := range []string{pSub, pGroup} {
		states := base + "/providers/" + providerPolicyInsights + "/policyStates/{policyStatesResource}"
		add("POST", states+"/queryResults", router.Action(ActionPolicyStatesRead), h.queryPolicyStates)
		add("POST", states+"/summarize", router.Action(providerPolicyInsights+"/policyStates/summarize/read"), h.summarizePolicyStates)
	}
}

// policyState is one resource's compliance with one assignment.
type policyState struct {
	ODataID                    *string `json:"@odata.id"`
	ODataContext               string  `json:"@odata.context"`
	Timestamp                  string  `json:"timestamp"`
	ResourceID                 string  `json:"resourceId"`
	PolicyAssignmentID         string  `json:"policyAssignmentId"`
	PolicyDefinitionID         string  `json:"policyDefinitionId"`
	EffectiveParameters        string  `json:"effectiveParameters"`
	IsCompliant                bool    `json:"isCompliant"`
	SubscriptionID             string  `json:"subscriptionId"`
	ResourceType               string  `json:"resourceType"`
	ResourceLocation           string  `json:"resourceLocation"`
	ResourceGroup              string  `json:"resourceGroup"`
	ResourceTags               string  `json:"resourceTags"`
	PolicyAssignmentName       string  `json:"policyAssignmentName"`
	PolicyAssignmentOwner      string  `json:"policyAssignmentOwner"`
	PolicyAssignmentParameters string  `json:"policyAssignmentParameters"`
	PolicyAssignmentScope      string  `json:"policyAssignmentScope"`
	PolicyDefinitionName       string  `json:"policyDefinitionName"`
	PolicyDefinitionAction     string  `json:"policyDefinitionAction"`
	PolicyDefinitionCategory   string  `json:"policyDefinitionCategory"`
	PolicySetDefinitionID      string  `json:"policySetDefinitionId"`
	ComplianceState            string  `json:"complianceState"`
	PolicyEvaluationDetails    *struct {
		EvaluatedExpressions []policy.EvaluatedExpression `json:"evaluatedExpressions"`
	} `json:"policyEvaluationDetails,omitempty"`
}

// policyScanScope is the subscription or group the query names.
func policyScanScope(q *request) string {
	if q.id.ResourceGroup != "" {
		return resourceid.ResourceGroupID(q.id.Subscription, q.id.ResourceGroup)
	}
	return resourceid.SubscriptionID(q.id.Subscription)
}

// PolicyState is one resource's compliance with one policy assignment, as
// a scan of the resources that exist now finds it. The queryResults and
// summarize routes write it in PolicyInsights' shape; the console lists
// the non-compliant ones.
type PolicyState struct {
	ResourceID, ResourceType, ResourceLocation, ResourceGroup, SubscriptionID string
	// ResourceTags is the resource's tags as JSON text ("null" when none).
	ResourceTags                                  string
	AssignmentID, AssignmentName, AssignmentScope string
	// AssignmentParameters is the assignment's parameters as JSON text.
	AssignmentParameters                                                    string
	DefinitionID, DefinitionName, DefinitionDisplayName, DefinitionCategory string
	// Effect is the effect the definition resolved to (deny, audit, ...).
	Effect    string
	Compliant bool
	// Details are the expressions the rule evaluated, for $expand.
	Details []policy.EvaluatedExpression
}

// ActionPolicyStatesRead is what a caller needs at a scope to read its
// policy states (queryResults); PolicyStates checks it.
const ActionPolicyStatesRead = providerPolicyInsights + "/policyStates/queryResults/read"

// ErrPolicyStatesScope is a scope PolicyStates does not scan: neither a
// subscription nor a resource group.
var ErrPolicyStatesScope = errors.New("policy states are scanned at a subscription or resource group")

// ErrPolicyStatesForbidden is a caller without ActionPolicyStatesRead at
// the scope.
var ErrPolicyStatesForbidden = errors.New("policy states forbidden")

// PolicyStates scans the resources under scope (a subscription or resource
// group ID) against every assignment covering them, as queryResults does,
// for principal p: p needs ActionPolicyStatesRead at scope, as the API
// route requires, and then sees the states of every resource under it, as
// the API answers. Non-compliant states come first.
func (h *Handler) PolicyStates(ctx context.Context, p authn.Principal, scope string) ([]PolicyState, error) {
	id, err := resourceid.Parse(scope)
	if err != nil || id.Subscription == "" || id.Provider != "" || len(id.Types) > 0 || id.Collection != "" {
		return nil, fmt.Errorf("%w: %q", ErrPolicyStatesScope, scope)
	}
	scope = policyScanScope(&request{id: id})
	if err := h.authz.Authorize(ctx, p, ActionPolicyStatesRead, scope); err != nil {
		return nil, fmt.Errorf("%w: %s at %s: %w", ErrPolicyStatesForbidden, ActionPolicyStatesRead, scope, err)
	}
	if h.policy == nil {
		return nil, nil // policy disabled: nothing is assigned
	}
	// The resource types' lists read their paging from a request: this
	// one carries no query, and listAll pages through each list from it.
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, scope, nil)
	if err != nil {
		return nil, fmt.Errorf("policy states of %s: %w", scope, err)
	}
	q := &request{r: r, id: id, principal: p, scope: scope, action: ActionPolicyStatesRead}
	if err := h.scopeExists(q); err != nil {
		return nil, err
	}
	return h.scan(q)
}

// scanPolicyStates checks a queryResults or summarize request, scans its
// scope and answers the states its $filter and $top select, each in
// PolicyInsights' shape.
func (h *Handler) scanPolicyStates(q *request) ([]policyState, error) {
	if err := checkAPIVersion(q.r, policyInsightsAPIVersions, "policyStates"); err != nil {
		return nil, err
	}
	if res := q.name(0); !strings.EqualFold(res, "latest") && !strings.EqualFold(res, "default") {
		return nil, newError(http.StatusBadRequest, armerr.CodeInvalidParameter, fmt.Sprintf("The policy states resource '%s' is invalid; use 'latest' or 'default'.", res))
	}
	if err := h.scopeExists(q); err != nil {
		return nil, err
	}
	states, err := h.scan(q)
	if err != nil {
		return nil, err
	}
	scope := policyScanScope(q)
	ctxURL := "https://" + q.r.Host + scope + "/providers/" + providerPolicyInsights + "/policyStates/$metadata#latest/$entity"
	now := time.Now().UTC().Format(time.RFC3339Nano)
	expand := strings.Contains(strings.ToLower(q.r.URL.Query().Get("$expand")), "policyevaluationdetails")
	out := make([]policyState, 0, len(states))
	for _, s := range states {
		st := policyState{ODataContext: ctxURL, Timestamp: now, ResourceID: s.ResourceID, PolicyAssignmentID: s.AssignmentID, PolicyDefinitionID: s.DefinitionID,
			IsCompliant: s.Compliant, SubscriptionID: s.SubscriptionID, ResourceType: s.ResourceType, ResourceLocation: s.ResourceLocation,
			ResourceGroup: s.ResourceGroup, ResourceTags: s.ResourceTags, PolicyAssignmentName: s.AssignmentName, PolicyAssignmentOwner: "tbd",
			PolicyAssignmentParameters: s.AssignmentParameters, PolicyAssignmentScope: s.AssignmentScope, PolicyDefinitionName: s.DefinitionName,
			PolicyDefinitionAction: s.Effect, PolicyDefinitionCategory: s.DefinitionCategory, ComplianceState: "Compliant"}
		if !st.IsCompliant {
			st.ComplianceState = "NonCompliant"
		}
		if expand {
			st.PolicyEvaluationDetails = &struct {
				EvaluatedExpressions []policy.EvaluatedExpression `json:"evaluatedExpressions"`
			}{s.Details}
		}
		out = append(out, st)
	}
	return filterStates(q, out)
}

// scan evaluates every resource under the request's scope (which exists)
// against the assignments that apply to it.
func (h *Handler) scan(q *request) ([]PolicyState, error) {
	docs, err := h.scanResources(q)
	if err != nil {
		return nil, err
	}
	set := h.policy.Set()
	var out []PolicyState
	for _, doc := range docs {
		r := policy.NewResource(doc.id, doc.typ, doc.body)
		for _, d := range set.Evaluate(r, h.policyContext(q.ctx(), doc.id)) {
			if !d.Applicable() {
				continue
			}
			params, _ := json.Marshal(d.Assignment.Parameters)
			if d.Assignment.Parameters == nil {
				params = []byte("{}")
			}
			tags, _ := json.Marshal(r.Body["tags"])
			loc, _ := r.Body["location"].(string)
			out = append(out, PolicyState{ResourceID: doc.id, ResourceType: doc.typ, ResourceLocation: loc, ResourceGroup: groupOf(doc.id),
				SubscriptionID: q.id.Subscription, ResourceTags: string(tags), AssignmentID: d.Assignment.ID, AssignmentName: d.Assignment.Name,
				AssignmentScope: d.Assignment.Scope, AssignmentParameters: string(params), DefinitionID: d.Definition.ID, DefinitionName: d.Definition.Name,
				DefinitionDisplayName: d.Definition.Props.DisplayName, DefinitionCategory: category(d.Definition), Effect: d.Result.Effect,
				Compliant: !d.NonCompliant(), Details: d.Result.Details})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Compliant != out[j].Compliant {
			return !out[i].Compliant
		}
		return strings.ToLower(out[i].ResourceID) < strings.ToLower(out[j].ResourceID)
	})
	return out, nil
}

func groupOf(id string) string {
	parts := strings.Split(strings.Trim(id, "/"), "/")
	if len(parts) >= 4 && strings.EqualFold(parts[2], "resourceGroups") {
		return parts[3]
	}
	return ""
}

func category(d *policy.Definition) string {
	var m struct {
		Category string `json:"category"`
	}
	_ = json.Unmarshal(d.Props.Metadata, &m)
	if m.Category == "" {
		return "tbd"
	}
	return m.Category
}

// scannedResource is a resource as its GET answers it.
type scannedResource struct {
	id, typ string
	body    map[string]any
}

// scanResources collects the resources under the query's scope: its
// groups, every type of the table (child types through their parents) and
// the role assignments at or below the scope, each as its GET answers it.
func (h *Handler) scanResources(q *request) ([]scannedResource, error) {
	var out []scannedResource
	add := func(v any) error {
		m, err := marshalMap(v)
		if err != nil {
			return err
		}
		id, _ := m["id"].(string)
		typ, _ := m["type"].(string)
		if id == "" {
			return nil
		}
		if typ == "" {
			typ = resourceTypeOf(id)
		}
		out = append(out, scannedResource{id: id, typ: typ, body: m})
		return nil
	}
	rg := q.id.ResourceGroup
	groups := []string{rg}
	if rg == "" {
		items, err := h.listAll(q, h.groupType(), resourceid.ID{Subscription: q.id.Subscription})
		if err != nil {
			return nil, err
		}
		groups = groups[:0]
		for _, it := range items {
			if err := add(it); err != nil {
				return nil, err
			}
			m, _ := marshalMap(it)
			name, _ := m["name"].(string)
			groups = append(groups, name)
		}
	} else {
		g, err := h.groups.Group(q.ctx(), q.id.Subscription, rg)
		if err != nil {
			return nil, err
		}
		if err := add(toGroup(g)); err != nil {
			return nil, err
		}
	}
	types := h.types()
	for _, t := range types {
		if t.list == nil || strings.HasPrefix(t.rbacType, "Microsoft.Resources/") || strings.Count(t.rbacType, "/") != 1 {
			continue
		}
		for _, g := range groups {
			parents, err := h.listAll(q, t, resourceid.ID{Subscription: q.id.Subscription, ResourceGroup: g})
			if err != nil {
				return nil, err
			}
			for _, p := range parents {
				if err := add(p); err != nil {
					return nil, err
				}
				// Child types of this one (federated credentials, agent
				// pools, blob containers), through the parent.
				pm, _ := marshalMap(p)
				pname, _ := pm["name"].(string)
				for _, c := range types {
					if c.list == nil || strings.Count(c.rbacType, "/") != 2 || !strings.HasPrefix(strings.ToLower(c.rbacType), strings.ToLower(t.rbacType)+"/") {
						continue
					}
					ns, ptype, _ := strings.Cut(t.rbacType, "/")
					children, err := h.listAll(q, c, resourceid.ID{Subscription: q.id.Subscription, ResourceGroup: g, Provider: ns,
						Types: []resourceid.TypeName{{Type: ptype, Name: pname}}})
					if err != nil {
						continue // a parent gone between the lists
					}
					for _, ch := range children {
						if err := add(ch); err != nil {
							return nil, err
						}
					}
				}
			}
		}
	}
	if h.rbac != nil {
		scope := policyScanScope(q)
		as, err := h.rbac.ListAssignments(q.ctx(), scope, authz.Filter{})
		if err != nil {
			return nil, err
		}
		for _, a := range as {
			if policy.InScope(a.Scope, scope) {
				if err := add(toRoleAssignment(a)); err != nil {
					return nil, err
				}
			}
		}
	}
	return out, nil
}

// listAll reads every page of a type's list under id.
func (h *Handler) listAll(q *request, t *resourceType, id resourceid.ID) ([]any, error) {
	sub := *q
	sub.id = id
	var out []any
	next := ""
	for {
		u := *q.r.URL
		u.RawQuery = ""
		if next != "" {
			u.RawQuery = url.Values{"$skiptoken": {next}}.Encode()
		}
		r := q.r.Clone(q.ctx())
		r.URL = &u
		sub.r = r
		items, n, err := t.list(&sub)
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		if n == "" || n == next {
			return out, nil
		}
		next = n
	}
}

// stateFilterRE is one clause of a policy states $filter.
var stateFilterRE = regexp.MustCompile(`(?i)^\s*(complianceState|policyAssignmentName|policyDefinitionName|resourceType|resourceGroup|policyAssignmentId|policyDefinitionId|resourceId)\s+eq\s+'((?:[^']|'')*)'\s*$|^\s*isCompliant\s+eq\s+(true|false)\s*$`)

// filterStates applies $filter (clauses joined by "and") and $top.
func filterStates(q *request, states []policyState) ([]policyState, error) {
	f := strings.TrimSpace(q.r.URL.Query().Get("$filter"))
	var keep []func(policyState) bool
	if f != "" {
		for _, part := range filterAndRE.Split(f, -1) {
			m := stateFilterRE.FindStringSubmatch(part)
			if m == nil {
				return nil, newError(http.StatusBadRequest, armerr.CodeInvalidFilter, fmt.Sprintf(
					"The $filter '%s' is not supported: Ward answers complianceState, policyAssignmentName, policyDefinitionName, policyAssignmentId, policyDefinitionId, resourceId, resourceType and resourceGroup eq '<value>', and isCompliant eq true|false, joined with 'and'.", f))
			}
			if m[3] != "" {
				want := strings.EqualFold(m[3], "true")
				keep = append(keep, func(s policyState) bool { return s.IsCompliant == want })
				continue
			}
			field, v := strings.ToLower(m[1]), strings.ReplaceAll(m[2], "''", "'")
			keep = append(keep, func(s policyState) bool {
				got := map[string]string{"compliancestate": s.ComplianceState, "policyassignmentname": s.PolicyAssignmentName, "policydefinitionname": s.PolicyDefinitionName,
					"resourcetype": s.ResourceType, "resourcegroup": s.ResourceGroup, "policyassignmentid": s.PolicyAssignmentID, "policydefinitionid": s.PolicyDefinitionID, "resourceid": s.ResourceID}[field]
				return strings.EqualFold(got, v)
			})
		}
	}
	out := []policyState{}
	for _, s := range states {
		ok := true
		for _, k := range keep {
			ok = ok && k(s)
		}
		if ok {
			out = append(out, s)
		}
	}
	if t := q.r.URL.Query().Get("$top"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 0 {
			return nil, newError(http.StatusBadRequest, armerr.CodeInvalidParameter, fmt.Sprintf("The value '%s' of $top is invalid.", t))
		}
		if n < len(out) {
			out = out[:n]
		}
	}
	return out, nil
}

func (h *Handler) queryPolicyStates(q *request) error {
	states, err := h.scanPolicyStates(q)
	if err != nil {
		return err
	}
	scope := policyScanScope(q)
	writeJSON(q.w, http.StatusOK, map[string]any{
		"@odata.context": "https://" + q.r.Host + scope + "/providers/" + providerPolicyInsights + "/policyStates/$metadata#latest",
		"@odata.count":   len(states),
		"value":          states,
	})
	return nil
}

type complianceCount struct {
	ComplianceState string `json:"complianceState"`
	Count           int    `json:"count"`
}

type summaryResults struct {
	QueryResultsURI       string            `json:"queryResultsUri,omitempty"`
	NonCompliantResources int               `json:"nonCompliantResources"`
	NonCompliantPolicies  int               `json:"nonCompliantPolicies"`
	ResourceDetails       []complianceCount `json:"resourceDetails"`
	PolicyDetails         []complianceCount `json:"policyDetails"`
	PolicyGroupDetails    []complianceCount `json:"policyGroupDetails"`
}

// summarize counts the states: resources compliant with everything versus
// not, and policies without a non-compliant resource versus with.
func summarize(states []policyState, queryURI string) summaryResults {
	resources, policies := map[string]bool{}, map[string]bool{}
	for _, s := range states {
		r, p := strings.ToLower(s.ResourceID), strings.ToLower(s.PolicyAssignmentID+"|"+s.PolicyDefinitionID)
		if _, ok := resources[r]; !ok {
			resources[r] = true
		}
		if _, ok := policies[p]; !ok {
			policies[p] = true
		}
		if !s.IsCompliant {
			resources[r], policies[p] = false, false
		}
	}
	count := func(m map[string]bool) (int, []complianceCount) {
		good, bad := 0, 0
		for _, ok := range m {
			if ok {
				good++
			} else {
				bad++
			}
		}
		return bad, []complianceCount{{"compliant", good}, {"noncompliant", bad}}
	}
	res := summaryResults{QueryResultsURI: queryURI, PolicyGroupDetails: []complianceCount{}}
	res.NonCompliantResources, res.ResourceDetails = count(resources)
	res.NonCompliantPolicies, res.PolicyDetails = count(policies)
	return res
}

func (h *Handler) summarizePolicyStates(q *request) error {
	states, err := h.scanPolicyStates(q)
	if err != nil {
		return err
	}
	scope := policyScanScope(q)
	base := "https://" + q.r.Host + scope + "/providers/" + providerPolicyInsights + "/policyStates/latest/queryResults?api-version=" + url.QueryEscape(q.r.URL.Query().Get("api-version"))
	type defSummary struct {
		PolicyDefinitionReferenceID string         `json:"policyDefinitionReferenceId"`
		PolicyDefinitionID          string         `json:"policyDefinitionId"`
		Effect                      string         `json:"effect"`
		Results                     summaryResults `json:"results"`
	}
	type asgSummary struct {
		PolicyAssignmentID    string         `json:"policyAssignmentId"`
		PolicySetDefinitionID string         `json:"policySetDefinitionId"`
		Results               summaryResults `json:"results"`
		PolicyDefinitions     []defSummary   `json:"policyDefinitions"`
	}
	byAssignment := map[string][]policyState{}
	var order []string
	for _, s := range states {
		if _, ok := byAssignment[s.PolicyAssignmentID]; !ok {
			order = append(order, s.PolicyAssignmentID)
		}
		byAssignment[s.PolicyAssignmentID] = append(byAssignment[s.PolicyAssignmentID], s)
	}
	sort.Strings(order)
	asgs := []asgSummary{}
	for _, id := range order {
		ss := byAssignment[id]
		filter := url.QueryEscape("policyAssignmentId eq '" + id + "'")
		r := summarize(ss, base+"&$filter="+filter)
		asgs = append(asgs, asgSummary{PolicyAssignmentID: id, Results: r, PolicyDefinitions: []defSummary{{PolicyDefinitionID: ss[0].PolicyDefinitionID, Effect: ss[0].PolicyDefinitionAction, Results: r}}})
	}
	writeJSON(q.w, http.StatusOK, map[string]any{
		"@odata.context": "https://" + q.r.Host + scope + "/providers/" + providerPolicyInsights + "/policyStates/$metadata#summary",
		"@odata.count":   1,
		"value": []any{map[string]any{
			"@odata.id":         nil,
			"@odata.context":    "https://" + q.r.Host + scope + "/providers/" + providerPolicyInsights + "/policyStates/$metadata#summary/$entity",
			"results":           summarize(states, base),
			"policyAssignments": asgs,
		}},
	})
	return nil
}
