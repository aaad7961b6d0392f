package rbac

import "strings"

// RoleGrant is what one role says about one action, for explanations
// ("why is this allowed or not?"): the decision itself is always the
// Engine's.
type RoleGrant struct {
	// Granted: the role's (data)actions match and no not(Data)Action does.
	Granted bool
	// MatchedBy is the pattern that matched the action, if any.
	MatchedBy string
	// DeniedBy is the notActions (notDataActions) pattern that removed it.
	DeniedBy string
	// OtherPlane is set when the role would grant the action on the other
	// plane: a data action asked as a control-plane action, or the reverse.
	OtherPlane bool
}

// Explain reports how role r treats action on the data plane (data) or
// the control plane, with the Engine's matching rules.
func Explain(r RoleDefinition, action string, data bool) RoleGrant {
	var g RoleGrant
	scan := func(data bool) (matched, denied string) {
		for _, p := range r.Permissions {
			allow, deny := p.Actions, p.NotActions
			if data {
				allow, deny = p.DataActions, p.NotDataActions
			}
			for _, pat := range allow {
				if matched == "" && matchAny(pat, action) {
					matched = pat
				}
			}
			for _, pat := range deny {
				if denied == "" && matchAny(pat, action) {
					denied = pat
				}
			}
		}
		return matched, denied
	}
	g.MatchedBy, g.DeniedBy = scan(data)
	g.Granted = g.MatchedBy != "" && g.DeniedBy == ""
	if !g.Granted {
		if m, d := scan(!data); m != "" && d == "" {
			g.OtherPlane = true
		}
	}
	return g
}

func matchAny(pattern, action string) bool {
	for _, p := range lowerAll([]string{pattern}) {
		if match(strings.ToLower(p), action) {
			return true
		}
	}
	return false
}

// Covers reports whether an assignment at scope a applies at scope s.
func Covers(a, s string) bool { return isAncestor(NormalizeScope(a), s) }
