package console

import (
	"context"
	"errors"
	"strings"

	"github.com/ward-id/ward/internal/authn"
	"github.com/ward-id/ward/internal/storage"
)

// revoked reports why a session may no longer act ("" when it may): its
// principal is gone (deleted, or re-created under another client ID) or
// the credential its token was issued for is (removed, expired, or a
// federated credential of the same name now trusting another issuer or
// subject). It reads the store, not a cache: the store is the one truth
// every replica shares, so a removal through any replica ends the session
// on this one at its next request, and a removal through this one at once.
// The console's traffic is a person's clicks; two indexed reads per request
// cost nothing next to the views themselves.
func (h *Handler) revoked(ctx context.Context, s session) (string, error) {
	kind, credID, named := authn.CredentialRef(s.from.credential)
	sp, err := h.cfg.Store.GetServicePrincipal(ctx, s.who.ObjectID)
	switch {
	case err == nil:
		if !strings.EqualFold(sp.AppID, s.who.AppID) {
			return "its principal was replaced", nil
		}
		if !named {
			return "", nil
		}
		return h.spCredentialGone(ctx, sp, kind, credID)
	case !errors.Is(err, storage.ErrNotFound):
		return "", err
	}
	id, err := h.cfg.Store.GetIdentityByPrincipalID(ctx, s.who.ObjectID)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return "its principal was deleted", nil
	case err != nil:
		return "", err
	case !strings.EqualFold(id.ClientID, s.who.AppID):
		return "its principal was replaced", nil
	case !named:
		return "", nil
	case kind != authn.CredentialFederated:
		return "the credential it signed in with is not one of its principal's", nil
	}
	f, err := h.cfg.Store.GetFederatedCredential(ctx, id.Ref(), credID)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return "the federated credential it signed in with was deleted", nil
	case err != nil:
		return "", err
	case authn.FederatedCredential(f.Name, f.Issuer, f.Matcher()) != s.from.credential:
		return "the federated credential it signed in with now trusts another issuer or subject", nil
	}
	return "", nil
}

// spCredentialGone checks a service principal's secret or certificate.
func (h *Handler) spCredentialGone(ctx context.Context, sp storage.ServicePrincipal, kind, keyID string) (string, error) {
	now := h.cfg.Now()
	switch kind {
	case authn.CredentialSecret:
		secrets, err := storage.All(func(p storage.Page) ([]storage.ClientSecret, string, error) {
			return h.cfg.Store.ListClientSecrets(ctx, sp.AppID, p)
		})
		if err != nil {
			return "", err
		}
		for _, c := range secrets {
			if strings.EqualFold(c.KeyID, keyID) {
				if !c.ExpiresAt.IsZero() && now.After(c.ExpiresAt) {
					return "the client secret it signed in with has expired", nil
				}
				return "", nil
			}
		}
		return "the client secret it signed in with was removed", nil
	case authn.CredentialCertificate:
		certs, err := storage.All(func(p storage.Page) ([]storage.Certificate, string, error) {
			return h.cfg.Store.ListCertificates(ctx, sp.AppID, p)
		})
		if err != nil {
			return "", err
		}
		for _, c := range certs {
			if strings.EqualFold(c.KeyID, keyID) {
				if !c.ExpiresAt.IsZero() && now.After(c.ExpiresAt) {
					return "the certificate it signed in with has expired", nil
				}
				return "", nil
			}
		}
		return "the certificate it signed in with was removed", nil
	}
	return "the credential it signed in with is not one of its principal's", nil
}
