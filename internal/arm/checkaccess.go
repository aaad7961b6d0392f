package arm

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/ward-id/ward/internal/armerr"
	"github.com/ward-id/ward/internal/authn"
)

// checkAccess serves POST /providers/Microsoft.Authorization/checkAccess:
// does principal P hold actions A at resource R? A caller may always ask
// about itself; asking about another principal needs
// Microsoft.Authorization/roleAssignments/read at R (Reader has it), as a
// resource server protecting its own API would hold.
//
//	{"subject":{"principalId":"…"},"resource":{"id":"/subscriptions/…"},
//	 "actions":[{"id":"Contoso.Reports/reports/read","isDataAction":true}]}
func (h *Handler) checkAccess(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodPost {
		return methodNotAllowed(r, http.MethodPost)
	}
	var body struct {
		Subject struct {
			PrincipalID string `json:"principalId"`
		} `json:"subject"`
		Resource struct {
			ID string `json:"id"`
		} `json:"resource"`
		Actions []struct {
			ID           string `json:"id"`
			IsDataAction bool   `json:"isDataAction"`
		} `json:"actions"`
	}
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	if body.Subject.PrincipalID == "" || body.Resource.ID == "" || len(body.Actions) == 0 || len(body.Actions) > 100 {
		return newError(http.StatusBadRequest, armerr.CodeInvalidRequestContent, "subject.principalId, resource.id and 1 to 100 actions are required.")
	}
	p, _ := r.Context().Value(principalKey{}).(authn.Principal)
	if !strings.EqualFold(p.ObjectID, body.Subject.PrincipalID) &&
		!h.rbac.Allowed(p.ObjectID, "Microsoft.Authorization/roleAssignments/read", body.Resource.ID) {
		return newError(http.StatusForbidden, armerr.CodeAuthorizationFailed, fmt.Sprintf(
			"The client '%s' with object id '%s' may only check its own access, or needs 'Microsoft.Authorization/roleAssignments/read' over scope '%s' (Reader) to check another principal's.",
			p.AppID, p.ObjectID, body.Resource.ID))
	}
	type decision struct {
		ActionID         string `json:"actionId"`
		IsDataAction     bool   `json:"isDataAction"`
		AccessDecision   string `json:"accessDecision"`
		RoleAssignmentID string `json:"roleAssignmentId,omitempty"`
	}
	out := make([]decision, 0, len(body.Actions))
	for _, a := range body.Actions {
		d := h.rbac.Decide(body.Subject.PrincipalID, a.ID, body.Resource.ID, a.IsDataAction)
		dec := decision{ActionID: a.ID, IsDataAction: a.IsDataAction, AccessDecision: "NotAllowed"}
		if d.Allowed {
			dec.AccessDecision, dec.RoleAssignmentID = "Allowed", d.AssignmentID()
		}
		out = append(out, dec)
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": out})
	return nil
}
