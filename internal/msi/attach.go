package msi

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ward-id/ward/internal/resourceid"
	"github.com/ward-id/ward/internal/storage"
)

// Attachment is a user-assigned identity attached to a resource (a
// cluster's control-plane or kubelet identity, a node pool's, a machine's),
// as it stands now.
type Attachment struct {
	// ResourceID is the identity's resource ID as attached.
	ResourceID string
	// Binding is the principal the attachment was authorized for: as
	// recorded, or the current one when the attachment predates recording
	// and is proved to be the same identity (see CheckAttachment).
	Binding storage.Binding
	// Identity is the identity found under the name now; Found is false
	// when there is none.
	Identity storage.Identity
	Found    bool
	// Problem says why the identity is not served ("" when it is): deleted,
	// or a different identity re-created under the same name.
	Problem string
}

// Served reports whether the attachment's identity may be served.
func (a Attachment) Served() bool { return a.Problem == "" }

// BindingFor returns what to record for an identity attached now.
func BindingFor(id storage.Identity) storage.Binding {
	return storage.Binding{PrincipalID: id.PrincipalID, ClientID: id.ClientID}
}

// CheckAttachment resolves an attachment by its resource ID and decides
// whether the identity found under that name is the one attached: its
// principal must be the one recorded at attach time (rec), and its
// tenant tenantID.
//
// rec is nil for attachments stored before Ward recorded principals. Such
// an attachment is served only when the identity found now was created no
// later than since, the earliest moment the attachment can have been made
// (the attaching resource's creation, and for a kubelet identity Ward
// created with the cluster, the end of that request): an identity that
// existed then and exists now has existed throughout, so it is the one the
// attaching caller was authorized for; one created later may be a
// re-creation, and Ward cannot tell. Recording the current principal once,
// when Ward is upgraded or on the first token request, would instead bind
// an identity already swapped in before the upgrade; so an unproved legacy
// attachment is refused, with a message to attach it again (a PUT by a
// caller with assign/action records its principal). The proof is
// re-evaluated on every use and holds only for the identity that satisfied
// it, so nothing needs writing on the token path, and no migration rewrites
// stored rows (the bindings live in the spec's JSON, where an old row simply
// has none).
func (s *Service) CheckAttachment(ctx context.Context, tenantID, rid string, rec *storage.Binding, since time.Time) Attachment {
	a := Attachment{ResourceID: rid}
	if rec != nil {
		a.Binding = *rec
	}
	p, err := resourceid.Parse(rid)
	if err == nil && (!p.TypeMatches("Microsoft.ManagedIdentity/userAssignedIdentities") || p.ResourceGroup == "" || len(p.Types) != 1) {
		err = fmt.Errorf("%s is not a user-assigned identity resource ID", rid)
	}
	if err == nil {
		a.Identity, err = s.Identity(ctx, storage.IdentityRef{SubscriptionID: p.Subscription, ResourceGroup: p.ResourceGroup, Name: p.Types[0].Name})
	}
	if err != nil || !strings.EqualFold(a.Identity.TenantID, tenantID) {
		a.Problem = fmt.Sprintf("The user-assigned identity '%s' no longer exists: it was deleted after it was attached.", rid)
		return a
	}
	a.Found = true
	switch {
	case rec == nil && !a.Identity.CreatedAt.After(since):
		a.Binding = BindingFor(a.Identity)
	case rec == nil:
		a.Problem = fmt.Sprintf("The user-assigned identity '%s' (principal %s) was created after this resource, and the attachment predates Ward's "+
			"recording of principals, so Ward cannot tell it is the identity that was attached: attach it again (a PUT naming it, by a caller allowed "+
			"Microsoft.ManagedIdentity/userAssignedIdentities/assign/action on it) to serve it.", rid, a.Identity.PrincipalID)
	case !strings.EqualFold(rec.PrincipalID, a.Identity.PrincipalID):
		a.Problem = fmt.Sprintf("The user-assigned identity '%s' was deleted and re-created after it was attached: it was attached with principal %s "+
			"(client ID %s), the identity under that name now has principal %s. It is not served until it is attached again (a PUT naming it, by a "+
			"caller allowed Microsoft.ManagedIdentity/userAssignedIdentities/assign/action on it).", rid, rec.PrincipalID, rec.ClientID, a.Identity.PrincipalID)
	}
	return a
}

// Canonical is an identity's canonical resource ID.
func Canonical(id storage.Identity) string {
	return resourceid.IdentityID(id.SubscriptionID, id.ResourceGroup, id.Name)
}
