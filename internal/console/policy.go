package console

import (
	"context"
	"net/http"

	"github.com/ward-id/ward/internal/authn"
	"github.com/ward-id/ward/internal/resourceid"
	"github.com/ward-id/ward/internal/storage"
)

// actionPolicyStatesRead is what the policy view needs at a subscription or
// group, as the policyStates queryResults route does.
const actionPolicyStatesRead = "Microsoft.PolicyInsights/policyStates/queryResults/read"

// Compliance scans a subscription or resource group for resources that do
// not comply with the policy assignments covering them, for principal p,
// as the management API's policyStates queryResults answers p (the server
// wires it to that scan).
type Compliance interface {
	NonCompliant(ctx context.Context, p authn.Principal, scope string) ([]NonCompliance, error)
}

// NonCompliance is one resource that does not comply with one assignment.
type NonCompliance struct {
	ResourceID            string `json:"resourceId"`
	ResourceType          string `json:"resourceType"`
	AssignmentID          string `json:"policyAssignmentId"`
	AssignmentName        string `json:"policyAssignmentName"`
	DefinitionID          string `json:"policyDefinitionId"`
	DefinitionName        string `json:"policyDefinitionName"`
	DefinitionDisplayName string `json:"policyDefinitionDisplayName,omitempty"`
	Effect                string `json:"effect"`
}

type policyRowJSON struct {
	SubscriptionID string `json:"subscriptionId"`
	NonCompliance
}

// policyStates lists the non-compliant resources of every subscription the
// caller may query policy states of; where it may not at the subscription,
// of each resource group where it may. A scope the caller cannot query
// through the API is not scanned.
func (h *Handler) policyStates(w http.ResponseWriter, r *http.Request) {
	c, ok := h.authenticate(w, r)
	if !ok {
		return
	}
	out := []policyRowJSON{}
	if h.cfg.Compliance == nil {
		writeJSON(w, http.StatusOK, map[string]any{"value": out})
		return
	}
	ctx := r.Context()
	p := authn.Principal{ObjectID: c.ObjectID, AppID: c.AppID}
	subs, err := h.cfg.Groups.Subscriptions(ctx)
	if err != nil {
		h.fail(w, err)
		return
	}
	scan := func(sub, scope string) error {
		found, err := h.cfg.Compliance.NonCompliant(ctx, p, scope)
		if err != nil {
			if gone(err) {
				return nil // deleted since it was listed
			}
			return err
		}
		for _, f := range found {
			out = append(out, policyRowJSON{SubscriptionID: sub, NonCompliance: f})
		}
		return nil
	}
	for _, s := range subs {
		subScope := resourceid.SubscriptionID(s.ID)
		if h.cfg.Access.Allowed(c.ObjectID, actionPolicyStatesRead, subScope) {
			err = scan(s.ID, subScope)
		} else {
			err = pages(1000, func(pg storage.Page) ([]storage.ResourceGroup, string, error) {
				return h.cfg.Groups.Groups(ctx, s.ID, pg)
			}, func(g storage.ResourceGroup) error {
				scope := resourceid.ResourceGroupID(s.ID, g.Name)
				if !h.cfg.Access.Allowed(c.ObjectID, actionPolicyStatesRead, scope) {
					return nil
				}
				return scan(s.ID, scope)
			})
		}
		if err != nil && !gone(err) {
			h.fail(w, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": out})
}
