package arm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/ward-id/ward/internal/authn"
	"github.com/ward-id/ward/internal/httpbody"
	"github.com/ward-id/ward/internal/policy"
	"github.com/ward-id/ward/internal/router"
	"github.com/ward-id/ward/internal/storage"
)

// Policy enforcement on management writes: every PUT and PATCH of a type
// in the table, and every role assignment PUT, is evaluated against the
// assignments that cover the resource (their scope, minus notScopes)
// before anything is written. A deny under an enforced assignment is
// Azure's 403 RequestDisallowedByPolicy with a PolicyViolation per
// assignment; anything else non-compliant (audit, or deny under
// DoNotEnforce) is recorded in the activity log as
// Microsoft.Authorization/policies/audit/action and the write proceeds.

// ActionPolicyAudit is the activity log action of an audit record.
const ActionPolicyAudit = "Microsoft.Authorization/policies/audit/action"

// CodeRequestDisallowedByPolicy is ARM's code for a policy denial.
const CodeRequestDisallowedByPolicy = "RequestDisallowedByPolicy"

// errReader replays a body read error to the handler's own decoding.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// requestJSON reads the request's JSON body and puts it back for the
// handler; nil when the body is absent or not a JSON object (the handler
// answers that).
func requestJSON(r *http.Request) map[string]any {
	if r.Body == nil {
		return nil
	}
	b, err := httpbody.Read(r.Body, 0)
	if err != nil {
		// The cause (the mux's *http.MaxBytesError, a broken read), for
		// decodeBody to classify again.
		r.Body = io.NopCloser(errReader{errors.Unwrap(err)})
		return nil
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	return m
}

// resourceTypeOf is the full type of the resource an ID names: the
// namespace after the last "providers" and every type segment after it;
// a group or a subscription without one.
func resourceTypeOf(id string) string {
	parts := strings.Split(strings.Trim(id, "/"), "/")
	for k := len(parts) - 2; k >= 0; k-- {
		if strings.EqualFold(parts[k], "providers") {
			typ := parts[k+1]
			for j := k + 2; j < len(parts); j += 2 {
				typ += "/" + parts[j]
			}
			return typ
		}
	}
	switch len(parts) {
	case 4:
		return "Microsoft.Resources/subscriptions/resourceGroups"
	case 2:
		return "Microsoft.Resources/subscriptions"
	}
	return ""
}

// mergePatch applies an ARM PATCH body to the resource's current answer:
// objects merge key by key, anything else replaces; tags replace the whole
// set, as Ward's PATCH handlers (and ARM's) store them.
func mergePatch(cur, patch map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range cur {
		out[k] = v
	}
	for k, v := range patch {
		pm, isObj := v.(map[string]any)
		var existing map[string]any
		for ck, cv := range out {
			if strings.EqualFold(ck, k) {
				existing, _ = cv.(map[string]any)
				delete(out, ck)
			}
		}
		if isObj && existing != nil && !strings.EqualFold(k, "tags") {
			out[k] = mergePatch(existing, pm)
		} else {
			out[k] = v
		}
	}
	return out
}

// enforceOnWrite evaluates a table type's PUT or PATCH.
func (h *Handler) enforceOnWrite(q *request, t *resourceType) error {
	if h.policy == nil {
		return nil
	}
	id := scopeOf(q.id)
	if !h.policy.Set().AnyCovers(id) {
		return nil
	}
	doc := requestJSON(q.r)
	if doc == nil {
		return nil
	}
	if q.r.Method == http.MethodPatch && t.get != nil {
		if cur, err := t.get(q); err == nil {
			if m, err := marshalMap(cur); err == nil {
				doc = mergePatch(m, doc)
			}
		}
	}
	return h.evaluateWrite(q, id, resourceTypeOf(id), doc)
}

// evaluateWrite evaluates a write of the resource id, of type typ, whose
// JSON is doc: the denial when an enforced deny matched, audit records
// for the rest of what does not comply.
func (h *Handler) evaluateWrite(q *request, id, typ string, doc map[string]any) error {
	set := h.policy.Set()
	r := policy.NewResource(id, typ, doc)
	var denials []policy.Decision
	for _, d := range set.Evaluate(r, h.policyContext(q.ctx(), id)) {
		switch {
		case d.Denies():
			denials = append(denials, d)
		case d.NonCompliant():
			h.recordAudit(q, d, id)
		}
	}
	if len(denials) > 0 {
		return &policyDenial{target: r.Name, decisions: denials}
	}
	return nil
}

// policyContext is what rules see of the resource's surroundings: its
// subscription, its group, and this Ward's clusters by issuer.
func (h *Handler) policyContext(ctx context.Context, id string) policy.Context {
	var c policy.Context
	parts := strings.Split(strings.Trim(id, "/"), "/")
	if len(parts) >= 2 && strings.EqualFold(parts[0], "subscriptions") {
		sub := parts[1]
		c.Subscription = map[string]any{"id": "/subscriptions/" + sub, "subscriptionId": sub, "tenantId": h.tenantID, "displayName": sub}
		if s, err := h.groups.Subscription(ctx, sub); err == nil {
			c.Subscription["displayName"] = s.DisplayName
		}
		if len(parts) >= 4 && strings.EqualFold(parts[2], "resourceGroups") {
			c.Group = map[string]any{"id": "/subscriptions/" + sub + "/resourceGroups/" + parts[3], "name": parts[3]}
			if g, err := h.groups.Group(ctx, sub, parts[3]); err == nil {
				c.Group["name"], c.Group["location"] = g.Name, g.Location
			}
		}
	}
	if h.issuerCluster != nil {
		c.Cluster = func(iss string) map[string]any {
			cl, ok := h.issuerCluster(ctx, iss)
			if !ok {
				return nil
			}
			return clusterFacts(cl)
		}
	}
	return c
}

// clusterFacts is what wardIssuerCluster() answers for a cluster.
func clusterFacts(cl storage.Cluster) map[string]any {
	rg := "/subscriptions/" + cl.SubscriptionID + "/resourceGroups/" + cl.ResourceGroup
	tags := map[string]any{}
	for k, v := range cl.Tags {
		tags[k] = v
	}
	return map[string]any{"id": rg + "/providers/" + ProviderContainerService + "/managedClusters/" + cl.Name, "name": cl.Name,
		"resourceGroupId": rg, "location": cl.Location, "tags": tags}
}

// recordAudit writes the activity log record of a non-compliant write that
// was not denied.
func (h *Handler) recordAudit(q *request, d policy.Decision, id string) {
	h.log.Info("policy audit: non-compliant write", "resource", id, "assignment", d.Assignment.ID, "definition", d.Definition.ID, "effect", d.Result.Effect)
	if h.activity == nil {
		return
	}
	parts := strings.Split(strings.Trim(id, "/"), "/")
	sub := ""
	if len(parts) >= 2 && strings.EqualFold(parts[0], "subscriptions") {
		sub = parts[1]
	}
	e := storage.ActivityEvent{ID: uuid.NewString(), Time: time.Now().UTC(), SubscriptionID: sub, CallerAppID: q.principal.AppID, CallerObjectID: q.principal.ObjectID,
		Method: q.r.Method, Action: ActionPolicyAudit, Scope: id, StatusCode: http.StatusOK, Result: "Succeeded",
		CorrelationID: q.r.Header.Get(router.HeaderCorrelationRequestID)}
	if err := h.activity.RecordActivity(context.WithoutCancel(q.ctx()), e); err != nil {
		h.log.Error("record policy audit", "err", err, "resource", id)
	}
}

// policyDenial is a write refused by policy, answered as Azure does.
type policyDenial struct {
	target    string
	decisions []policy.Decision
}

func (e *policyDenial) Error() string {
	return fmt.Sprintf("resource '%s' was disallowed by policy", e.target)
}

type policyIdentifier struct {
	PolicyAssignment struct {
		Name string `json:"name"`
		ID   string `json:"id"`
	} `json:"policyAssignment"`
	PolicyDefinition struct {
		Name string `json:"name"`
		ID   string `json:"id"`
	} `json:"policyDefinition"`
}

type policyViolationInfo struct {
	PolicyDefinitionID          string                     `json:"policyDefinitionId"`
	PolicyDefinitionName        string                     `json:"policyDefinitionName"`
	PolicyDefinitionDisplayName string                     `json:"policyDefinitionDisplayName"`
	PolicyDefinitionEffect      string                     `json:"policyDefinitionEffect"`
	PolicyAssignmentID          string                     `json:"policyAssignmentId"`
	PolicyAssignmentName        string                     `json:"policyAssignmentName"`
	PolicyAssignmentDisplayName string                     `json:"policyAssignmentDisplayName"`
	PolicyAssignmentScope       string                     `json:"policyAssignmentScope"`
	PolicyAssignmentParameters  map[string]json.RawMessage `json:"policyAssignmentParameters"`
	EvaluationDetails           struct {
		EvaluatedExpressions []policy.EvaluatedExpression `json:"evaluatedExpressions"`
		Reason               string                       `json:"reason,omitempty"`
	} `json:"evaluationDetails"`
}

type policyDenialBody struct {
	Error struct {
		Code           string `json:"code"`
		Target         string `json:"target"`
		Message        string `json:"message"`
		AdditionalInfo []struct {
			Type string              `json:"type"`
			Info policyViolationInfo `json:"info"`
		} `json:"additionalInfo"`
	} `json:"error"`
}

func orName(display, name string) string {
	if display != "" {
		return display
	}
	return name
}

// body is the 403 Azure answers.
func (e *policyDenial) body() policyDenialBody {
	var b policyDenialBody
	ids := make([]policyIdentifier, 0, len(e.decisions))
	for _, d := range e.decisions {
		a, def := d.Assignment, d.Definition
		var id policyIdentifier
		id.PolicyAssignment.Name, id.PolicyAssignment.ID = orName(a.DisplayName, a.Name), a.ID
		id.PolicyDefinition.Name, id.PolicyDefinition.ID = orName(def.Props.DisplayName, def.Name), def.ID
		ids = append(ids, id)
		info := policyViolationInfo{PolicyDefinitionID: def.ID, PolicyDefinitionName: def.Name, PolicyDefinitionDisplayName: def.Props.DisplayName,
			PolicyDefinitionEffect: d.Result.Effect, PolicyAssignmentID: a.ID, PolicyAssignmentName: a.Name, PolicyAssignmentDisplayName: a.DisplayName,
			PolicyAssignmentScope: a.Scope, PolicyAssignmentParameters: a.Parameters}
		if info.PolicyAssignmentParameters == nil {
			info.PolicyAssignmentParameters = map[string]json.RawMessage{}
		}
		info.EvaluationDetails.EvaluatedExpressions = d.Result.Details
		if info.EvaluationDetails.EvaluatedExpressions == nil {
			info.EvaluationDetails.EvaluatedExpressions = []policy.EvaluatedExpression{}
		}
		if d.Result.Err != nil {
			info.EvaluationDetails.Reason = "The policy's evaluation failed, which denies the request: " + d.Result.Err.Error()
		}
		b.Error.AdditionalInfo = append(b.Error.AdditionalInfo, struct {
			Type string              `json:"type"`
			Info policyViolationInfo `json:"info"`
		}{"PolicyViolation", info})
	}
	idJSON, _ := json.Marshal(ids)
	b.Error.Code, b.Error.Target = CodeRequestDisallowedByPolicy, e.target
	b.Error.Message = fmt.Sprintf("Resource '%s' was disallowed by policy. Policy identifiers: '%s'.", e.target, idJSON)
	return b
}

// enforceOnRoleAssignment evaluates a role assignment PUT. The
// assignment's scope is its path's; a principal type left out is
// ServicePrincipal, the only kind Ward has and what it will store.
func (h *Handler) enforceOnRoleAssignment(r *http.Request, scope, name, roleID, principalID, principalType, description string) error {
	if h.policy == nil {
		return nil
	}
	id := scopePrefix(scope) + "/providers/Microsoft.Authorization/roleAssignments/" + name
	if !h.policy.Set().AnyCovers(id) {
		return nil
	}
	if principalType == "" {
		principalType = "ServicePrincipal"
	}
	p, _ := r.Context().Value(principalKey{}).(authn.Principal)
	doc := map[string]any{"properties": map[string]any{"roleDefinitionId": roleID, "principalId": principalID, "principalType": principalType,
		"scope": scope, "description": description}}
	return h.evaluateWrite(&request{r: r, principal: p}, id, TypeRoleAssignment, doc)
}
