package cli

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"
)

func adCmd(g *Globals) *cobra.Command {
	ad := &cobra.Command{Use: "ad", Short: "Directory objects"}
	sp := &cobra.Command{Use: "sp", Short: "Service principals"}
	credential := &cobra.Command{Use: "credential", Short: "A service principal's credentials"}
	credential.AddCommand(g.command("reset", "Add a new secret (replacing the others unless --append), or set a certificate with --cert", &spCredentialReset{}))
	sp.AddCommand(
		g.command("create-for-rbac", "Create a service principal with a client secret (shown once)", &spCreate{}),
		credential,
		g.command("show", "Show a service principal", &spShow{}),
		g.command("list", "List service principals", &spList{}),
		g.command("delete", "Delete a service principal and its credentials", &spDelete{}))
	ad.AddCommand(sp)
	return ad
}

// spID is --id of one service principal.
type spID struct{ id string }

func (r *spID) flags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&r.id, "id", "", "client ID (appId) or object ID")
}

func (r *spID) check(cmd *cobra.Command) error { return requireFlags(cmd, "id") }

// secretYears is --years: how long a new client secret is valid.
type secretYears struct{ years int }

func (y *secretYears) flags(cmd *cobra.Command) {
	cmd.Flags().IntVar(&y.years, "years", 1, "years the secret is valid")
}

func (y *secretYears) expiry() time.Time { return time.Now().AddDate(y.years, 0, 0) }

// spCreate is `ward ad sp create-for-rbac`.
type spCreate struct {
	secretYears
	name, role string
	scopes     []string
}

func (v *spCreate) flags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&v.role, "role", "", "role to assign at --scopes")
	cmd.Flags().StringSliceVar(&v.scopes, "scopes", nil, "scopes for --role")
	cmd.Flags().StringVarP(&v.name, "name", "n", "", "display name")
	v.secretYears.flags(cmd)
}

func (v *spCreate) run(ctx context.Context, _ env, c *conn) (any, error) {
	n := v.name
	if n == "" {
		n = "ward-sp-" + time.Now().UTC().Format("2006-01-02-15-04-05")
	}
	s, err := c.client.CreateServicePrincipal(ctx, n)
	if err != nil {
		return nil, err
	}
	pw, err := c.client.AddPassword(ctx, s.ID, "rbac", v.expiry())
	if err != nil {
		return nil, err
	}
	// As az: a role is assigned only when --role and --scopes are given.
	if v.role != "" {
		for _, sc := range v.scopes {
			roleID, _, err := resolveRole(ctx, c.client, sc, v.role)
			if err != nil {
				return nil, err
			}
			if _, err := c.client.CreateRoleAssignment(ctx, sc, uuid.NewString(), roleID, s.ID, "ServicePrincipal"); err != nil {
				return nil, err
			}
		}
	}
	return map[string]any{"appId": s.AppID, "displayName": s.DisplayName, "password": pw.SecretText, "tenant": s.AppOwnerTenantID}, nil
}

// spCredentialReset is `ward ad sp credential reset`.
type spCredentialReset struct {
	spID
	secretYears
	cert       string
	appendCred bool
}

func (v *spCredentialReset) flags(cmd *cobra.Command) {
	v.spID.flags(cmd)
	cmd.Flags().BoolVar(&v.appendCred, "append", false, "keep the existing secrets")
	v.secretYears.flags(cmd)
	cmd.Flags().StringVar(&v.cert, "cert", "", "certificate to register instead of a secret: @file.pem, or PEM/base64 DER inline")
}

func (v *spCredentialReset) run(ctx context.Context, _ env, c *conn) (any, error) {
	s, err := c.client.GetServicePrincipal(ctx, v.id)
	if err != nil {
		return nil, err
	}
	if v.cert != "" {
		der, err := readCert(v.cert)
		if err != nil {
			return nil, err
		}
		// As a Graph PATCH of keyCredentials, this replaces the
		// certificates; secrets are left as they are.
		if err := c.client.SetCertificates(ctx, s.ID, []string{der}); err != nil {
			return nil, err
		}
		return map[string]any{"appId": s.AppID, "tenant": s.AppOwnerTenantID, "certificate": v.cert}, nil
	}
	pw, err := c.client.AddPassword(ctx, s.ID, "rbac", v.expiry())
	if err != nil {
		return nil, err
	}
	if !v.appendCred {
		for _, old := range s.PasswordCredentials {
			if err := c.client.RemovePassword(ctx, s.ID, old.KeyID); err != nil {
				return nil, err
			}
		}
	}
	return map[string]any{"appId": s.AppID, "password": pw.SecretText, "tenant": s.AppOwnerTenantID}, nil
}

// The verbs below ask for a subscription although the directory needs
// none, as they always have: a CLI without one fails the same way for
// every verb.

// spShow is `ward ad sp show`.
type spShow struct{ spID }

func (*spShow) inSubscription() {}

func (v *spShow) run(ctx context.Context, _ env, c *conn) (any, error) {
	return c.client.GetServicePrincipal(ctx, v.id)
}

// spList is `ward ad sp list`.
type spList struct{ displayName string }

func (v *spList) flags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&v.displayName, "display-name", "", "only those with this display name")
	cmd.Flags().Bool("all", false, "list all (the default here)")
}

func (*spList) inSubscription() {}

func (v *spList) run(ctx context.Context, _ env, c *conn) (any, error) {
	return c.client.ListServicePrincipals(ctx, v.displayName)
}

// spDelete is `ward ad sp delete`.
type spDelete struct{ spID }

func (*spDelete) inSubscription() {}

func (v *spDelete) run(ctx context.Context, _ env, c *conn) (any, error) {
	return nil, c.client.DeleteServicePrincipal(ctx, v.id)
}

// readCert reads a certificate given as @file or inline, in PEM or base64
// DER, and returns base64 DER.
func readCert(v string) (string, error) {
	data := []byte(v)
	if strings.HasPrefix(v, "@") {
		b, err := os.ReadFile(v[1:])
		if err != nil {
			return "", err
		}
		data = b
	}
	if strings.Contains(string(data), "-----BEGIN") {
		var der []byte
		for rest := data; der == nil; {
			block, next := pem.Decode(rest)
			if block == nil {
				return "", errors.New("--cert: no CERTIFICATE block in the PEM")
			}
			if block.Type == "CERTIFICATE" {
				der = block.Bytes
			}
			rest = next
		}
		data = der
	} else if der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v)); err == nil {
		data = der
	}
	if _, err := x509.ParseCertificate(data); err != nil {
		return "", fmt.Errorf("--cert: not an X.509 certificate: %w", err)
	}
	return base64.StdEncoding.EncodeToString(data), nil
}
