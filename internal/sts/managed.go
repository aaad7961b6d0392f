package sts

import (
	"context"
	"net/http"
	"time"

	"github.com/ward-id/ward/internal/storage"
)

// ManagedIdentityGrant is a token for a managed identity of a machine or a
// node pool, asked by that machine's `ward agent`. Ward attested the agent
// itself (package machines: the machine's registered key, or the node's
// service-account token) and checked that the identity is the machine's;
// no credential travels in a token request.
type ManagedIdentityGrant struct {
	ClientID    string
	PrincipalID string
	// MIResource is what the token's xms_mirid names: the user-assigned
	// identity's resource ID, or for a system-assigned identity the
	// machine's resource ID (as Azure does for a VM).
	MIResource string
	Resource   string
	// Credential and Subject describe the attestation in the sign-in log:
	// machineKey with the machine's resource ID, or nodeServiceAccount with
	// the token's subject.
	Credential, Subject, Source string
}

// ManagedIdentityToken mints a managed identity token (lifetime as every
// managed identity token's) for an attested agent, and records it in the
// sign-in log.
func (s *Service) ManagedIdentityToken(_ context.Context, g ManagedIdentityGrant) (string, time.Time, time.Time, error) {
	now := s.now().UTC().Truncate(time.Second)
	rec := storage.SignIn{Time: now, TenantID: s.tenantID, ClientID: g.ClientID, PrincipalID: g.PrincipalID,
		IdentityID: g.MIResource, Resource: g.Resource, Credential: g.Credential, Subject: g.Subject, Source: g.Source, Result: "failure"}
	defer func() {
		if s.signIns != nil {
			s.signIns.Record(rec)
		}
	}()
	if g.Resource == "" {
		e := newErr(http.StatusBadRequest, errInvalidRequest, CodeInvalidScope, "The request names no resource.")
		rec.ErrorCode, rec.Reason = e.Code, e.Message
		return "", time.Time{}, time.Time{}, e
	}
	p := principal{TenantID: s.tenantID, AppID: g.ClientID, ObjectID: g.PrincipalID, MIResource: g.MIResource, AuthMethod: "2", ManagedKind: true}
	tok, exp, err := s.mint(p, g.Resource, s.miLife)
	if err != nil {
		rec.ErrorCode, rec.Reason = CodeInternalError, err.Error()
		return "", time.Time{}, time.Time{}, err
	}
	rec.Result = "success"
	return tok, now, exp, nil
}
