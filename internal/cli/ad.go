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
	"github.com/ward-id/ward/client"
)

func adCmd(g *Globals) *cobra.Command {
	ad := &cobra.Command{Use: "ad", Short: "Directory objects"}
	sp := &cobra.Command{Use: "sp", Short: "Service principals"}
	var name, id, displayName, cert, role string
	var scopes []string
	var years int
	var appendCred bool

	create := &cobra.Command{
		Use:   "create-for-rbac",
		Short: "Create a service principal with a client secret (shown once)",
		RunE: g.runConn(func(ctx context.Context, c *conn) (any, error) {
			n := name
			if n == "" {
				n = "ward-sp-" + time.Now().UTC().Format("2006-01-02-15-04-05")
			}
			s, err := c.client.CreateServicePrincipal(ctx, n)
			if err != nil {
				return nil, err
			}
			pw, err := c.client.AddPassword(ctx, s.ID, "rbac", time.Now().AddDate(years, 0, 0))
			if err != nil {
				return nil, err
			}
			// As az: a role is assigned only when --role and --scopes are given.
			if role != "" {
				for _, sc := range scopes {
					roleID, _, err := resolveRole(ctx, c.client, sc, role)
					if err != nil {
						return nil, err
					}
					if _, err := c.client.CreateRoleAssignment(ctx, sc, uuid.NewString(), roleID, s.ID, "ServicePrincipal"); err != nil {
						return nil, err
					}
				}
			}
			return map[string]any{"appId": s.AppID, "displayName": s.DisplayName, "password": pw.SecretText, "tenant": s.AppOwnerTenantID}, nil
		}),
	}
	create.Flags().StringVar(&role, "role", "", "role to assign at --scopes")
	create.Flags().StringSliceVar(&scopes, "scopes", nil, "scopes for --role")
	create.Flags().StringVarP(&name, "name", "n", "", "display name")
	create.Flags().IntVar(&years, "years", 1, "years the secret is valid")

	reset := &cobra.Command{
		Use:   "reset",
		Short: "Add a new secret (replacing the others unless --append), or set a certificate with --cert",
		PreRunE: func(cmd *cobra.Command, args []string) error {
			return requireFlags(cmd, "id")
		},
		RunE: g.runConn(func(ctx context.Context, c *conn) (any, error) {
			s, err := c.client.GetServicePrincipal(ctx, id)
			if err != nil {
				return nil, err
			}
			if cert != "" {
				der, err := readCert(cert)
				if err != nil {
					return nil, err
				}
				// As a Graph PATCH of keyCredentials, this replaces the
				// certificates; secrets are left as they are.
				if err := c.client.SetCertificates(ctx, s.ID, []string{der}); err != nil {
					return nil, err
				}
				return map[string]any{"appId": s.AppID, "tenant": s.AppOwnerTenantID, "certificate": cert}, nil
			}
			pw, err := c.client.AddPassword(ctx, s.ID, "rbac", time.Now().AddDate(years, 0, 0))
			if err != nil {
				return nil, err
			}
			if !appendCred {
				for _, old := range s.PasswordCredentials {
					if err := c.client.RemovePassword(ctx, s.ID, old.KeyID); err != nil {
						return nil, err
					}
				}
			}
			return map[string]any{"appId": s.AppID, "password": pw.SecretText, "tenant": s.AppOwnerTenantID}, nil
		}),
	}
	reset.Flags().StringVar(&id, "id", "", "client ID (appId) or object ID")
	reset.Flags().BoolVar(&appendCred, "append", false, "keep the existing secrets")
	reset.Flags().IntVar(&years, "years", 1, "years the secret is valid")
	reset.Flags().StringVar(&cert, "cert", "", "certificate to register instead of a secret: @file.pem, or PEM/base64 DER inline")
	credential := &cobra.Command{Use: "credential", Short: "A service principal's credentials"}
	credential.AddCommand(reset)

	show := &cobra.Command{
		Use:     "show",
		Short:   "Show a service principal",
		PreRunE: func(cmd *cobra.Command, args []string) error { return requireFlags(cmd, "id") },
		RunE: g.run(func(ctx context.Context, c *client.Client, sub string) (any, error) {
			return c.GetServicePrincipal(ctx, id)
		}),
	}
	show.Flags().StringVar(&id, "id", "", "client ID (appId) or object ID")
	list := &cobra.Command{
		Use:   "list",
		Short: "List service principals",
		RunE: g.run(func(ctx context.Context, c *client.Client, sub string) (any, error) {
			return c.ListServicePrincipals(ctx, displayName)
		}),
	}
	list.Flags().StringVar(&displayName, "display-name", "", "only those with this display name")
	list.Flags().Bool("all", false, "list all (the default here)")
	del := &cobra.Command{
		Use:     "delete",
		Short:   "Delete a service principal and its credentials",
		PreRunE: func(cmd *cobra.Command, args []string) error { return requireFlags(cmd, "id") },
		RunE: g.run(func(ctx context.Context, c *client.Client, sub string) (any, error) {
			return nil, c.DeleteServicePrincipal(ctx, id)
		}),
	}
	del.Flags().StringVar(&id, "id", "", "client ID (appId) or object ID")

	sp.AddCommand(create, credential, show, list, del)
	ad.AddCommand(sp)
	return ad
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
