package cli

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/spf13/cobra"
	"github.com/ward-id/ward/client"
	"github.com/ward-id/ward/deploy"
)

// clusterView is a cluster as az prints it: properties flattened to the top
// level, the issuer URL spelled issuerUrl, the resource group added.
func clusterView(c map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range c {
		if k != "properties" {
			out[k] = v
		}
	}
	if props, ok := c["properties"].(map[string]any); ok {
		for k, v := range props {
			out[k] = v
		}
	}
	if oidc, ok := out["oidcIssuerProfile"].(map[string]any); ok {
		if u, ok := oidc["issuerURL"]; ok {
			oidc["issuerUrl"] = u
			delete(oidc, "issuerURL")
		}
	}
	if id, ok := c["id"].(string); ok {
		out["resourceGroup"] = groupOf(id)
	}
	return out
}

func aksCmd(g *Globals) *cobra.Command {
	cmd := &cobra.Command{Use: "aks", Short: "Managed clusters: identities and hosted OIDC issuers"}
	var name, group, location, assignIdentity, kubeletIdentity, namespace, sa, audience string
	var managedIdentity, oidc, wi bool
	var publicKeys []string
	var jwksArg, keyFile string
	var duration time.Duration

	body := func(cmd *cobra.Command) (map[string]any, error) {
		b := map[string]any{}
		if location != "" {
			b["location"] = location
		}
		props := map[string]any{}
		switch {
		case assignIdentity != "":
			b["identity"] = map[string]any{"type": "UserAssigned", "userAssignedIdentities": map[string]any{assignIdentity: map[string]any{}}}
		case managedIdentity:
			b["identity"] = map[string]any{"type": "SystemAssigned"}
		}
		if kubeletIdentity != "" {
			props["identityProfile"] = map[string]any{"kubeletidentity": map[string]any{"resourceId": kubeletIdentity}}
		}
		oidcProfile := map[string]any{}
		if cmd.Flags().Changed("enable-oidc-issuer") {
			oidcProfile["enabled"] = oidc
		}
		if keys, err := uploadedKeys(publicKeys, jwksArg); err != nil {
			return nil, err
		} else if keys != nil {
			oidcProfile["wardServiceAccountKeys"] = keys
		}
		if len(oidcProfile) > 0 {
			props["oidcIssuerProfile"] = oidcProfile
		}
		if cmd.Flags().Changed("enable-workload-identity") {
			props["securityProfile"] = map[string]any{"workloadIdentity": map[string]any{"enabled": wi}}
		}
		b["properties"] = props
		return b, nil
	}
	put := func(cmd *cobra.Command) func(ctx context.Context, c *client.Client, sub string) (any, error) {
		return func(ctx context.Context, c *client.Client, sub string) (any, error) {
			b, err := body(cmd)
			if err != nil {
				return nil, err
			}
			out, err := c.PutCluster(ctx, sub, group, name, b)
			if err != nil {
				return nil, err
			}
			return clusterView(out), nil
		}
	}
	create := &cobra.Command{Use: "create", Short: "Create a managed cluster",
		PreRunE: func(cmd *cobra.Command, args []string) error { return requireFlags(cmd, "name", "resource-group") }}
	create.RunE = func(cmd *cobra.Command, args []string) error { return g.run(put(cmd))(cmd, args) }
	update := &cobra.Command{Use: "update", Short: "Update a managed cluster (enable the OIDC issuer or workload identity, change identities)",
		PreRunE: func(cmd *cobra.Command, args []string) error { return requireFlags(cmd, "name", "resource-group") }}
	update.RunE = func(cmd *cobra.Command, args []string) error { return g.run(put(cmd))(cmd, args) }
	for _, c := range []*cobra.Command{create, update} {
		c.Flags().StringVarP(&location, "location", "l", "", "location (default: the resource group's)")
		c.Flags().BoolVar(&managedIdentity, "enable-managed-identity", false, "use a system-assigned control-plane identity (the default)")
		c.Flags().StringVar(&assignIdentity, "assign-identity", "", "resource ID of a user-assigned control-plane identity")
		c.Flags().StringVar(&kubeletIdentity, "assign-kubelet-identity", "", "resource ID of the kubelet identity (default: <cluster>-agentpool in the node resource group)")
		c.Flags().BoolVar(&oidc, "enable-oidc-issuer", false, "host an OIDC issuer for the cluster's service-account tokens")
		c.Flags().BoolVar(&wi, "enable-workload-identity", false, "enable workload identity (needs the OIDC issuer)")
		c.Flags().StringArrayVar(&publicKeys, "service-account-public-key", nil, "bring your own: a kube-apiserver service-account public key, PEM or @file (repeatable)")
		c.Flags().StringVar(&jwksArg, "service-account-jwks", "", "bring your own: the apiserver's JWKS (kubectl get --raw /openid/v1/jwks), JSON or @file")
	}
	show := &cobra.Command{Use: "show", Short: "Show a managed cluster (and warn when federated credentials name its issuer at an old host:port)",
		PreRunE: func(cmd *cobra.Command, args []string) error { return requireFlags(cmd, "name", "resource-group") },
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.runConn(func(ctx context.Context, c *conn) (any, error) {
				sub, err := c.subscription()
				if err != nil {
					return nil, err
				}
				out, err := c.client.GetCluster(ctx, sub, group, name)
				if err != nil {
					return nil, err
				}
				v := clusterView(out)
				if iss, _ := v["oidcIssuerProfile"].(map[string]any)["issuerUrl"].(string); iss != "" {
					before, stale, fix := issuerMoves(ctx, c, sub, iss)
					for _, m := range append([]string{before}, stale...) {
						if m != "" {
							fmt.Fprintln(cmd.ErrOrStderr(), "WARNING: "+m)
						}
					}
					if fix != "" {
						fmt.Fprintln(cmd.ErrOrStderr(), "WARNING: "+fix)
					}
				}
				return v, nil
			})(cmd, args)
		}}
	list := &cobra.Command{Use: "list", Short: "List managed clusters",
		RunE: g.run(func(ctx context.Context, c *client.Client, sub string) (any, error) {
			items, err := c.ListClusters(ctx, sub, group)
			if err != nil {
				return nil, err
			}
			out := []map[string]any{}
			for _, it := range items {
				out = append(out, clusterView(it))
			}
			return out, nil
		})}
	list.Flags().StringVarP(&group, "resource-group", "g", "", "resource group")
	del := &cobra.Command{Use: "delete", Short: "Delete a managed cluster with its system-assigned identity and node resource group",
		PreRunE: func(cmd *cobra.Command, args []string) error { return requireFlags(cmd, "name", "resource-group") },
		RunE: g.run(func(ctx context.Context, c *client.Client, sub string) (any, error) {
			return nil, c.DeleteCluster(ctx, sub, group, name)
		})}
	del.Flags().BoolP("yes", "y", false, "do not prompt for confirmation")
	getToken := &cobra.Command{Use: "get-token", Short: "Print a service-account token from the cluster's hosted issuer, as kube-apiserver would project it",
		PreRunE: func(cmd *cobra.Command, args []string) error {
			return requireFlags(cmd, "name", "resource-group", "service-account")
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ns, saName, err := parseServiceAccount(sa, namespace, cmd.Flags().Changed("namespace"))
			if err != nil {
				return err
			}
			return g.run(func(ctx context.Context, c *client.Client, sub string) (any, error) {
				return c.GetServiceAccountToken(ctx, sub, group, name, ns, saName, audience, int64(duration.Seconds()))
			})(cmd, args)
		}}
	getToken.Flags().StringVar(&namespace, "namespace", "default", "namespace of the service account")
	getToken.Flags().StringVar(&sa, "service-account", "", "service account: NAME (with --namespace), or NAMESPACE/NAME")
	getToken.Flags().StringVar(&audience, "audience", "api://AzureADTokenExchange", "token audience")
	getToken.Flags().DurationVar(&duration, "duration", time.Hour, "token lifetime (10m to 48h)")
	for _, c := range []*cobra.Command{create, update, show, del, getToken} {
		c.Flags().StringVarP(&name, "name", "n", "", "cluster name")
		c.Flags().StringVarP(&group, "resource-group", "g", "", "resource group")
	}
	getToken.Flags().StringVar(&name, "cluster", "", "cluster name (same as --name)")

	signingKey := &cobra.Command{Use: "get-service-account-signing-key", Short: "Export the Ward-managed issuer key for kube-apiserver's --service-account-signing-key-file (recorded in the activity log)",
		PreRunE: func(cmd *cobra.Command, args []string) error { return requireFlags(cmd, "name", "resource-group") },
		RunE: g.run(func(ctx context.Context, c *client.Client, sub string) (any, error) {
			k, err := c.GetServiceAccountSigningKey(ctx, sub, group, name)
			if err != nil {
				return nil, err
			}
			if keyFile != "" {
				if err := os.WriteFile(keyFile, []byte(k.PrivateKeyPEM), 0o600); err != nil {
					return nil, err
				}
				if err := os.WriteFile(strings.TrimSuffix(keyFile, ".key")+".pub", []byte(k.PublicKeyPEM), 0o644); err != nil {
					return nil, err
				}
				return map[string]string{"kid": k.KID, "privateKeyFile": keyFile, "publicKeyFile": strings.TrimSuffix(keyFile, ".key") + ".pub"}, nil
			}
			return k, nil
		})}
	signingKey.Flags().StringVar(&keyFile, "file", "", "write the private key here (mode 0600) and the public key beside it (.pub)")
	flags := &cobra.Command{Use: "show-apiserver-flags", Short: "Print the kube-apiserver flags that make its tokens verify against the cluster's hosted issuer",
		PreRunE: func(cmd *cobra.Command, args []string) error { return requireFlags(cmd, "name", "resource-group") },
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.run(func(ctx context.Context, c *client.Client, sub string) (any, error) {
				cl, err := c.GetCluster(ctx, sub, group, name)
				if err != nil {
					return nil, err
				}
				iss, _ := clusterView(cl)["oidcIssuerProfile"].(map[string]any)["issuerUrl"].(string)
				if iss == "" {
					return nil, fmt.Errorf("cluster %s has no OIDC issuer: ward aks update -n %s -g %s --enable-oidc-issuer", name, name, group)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "--service-account-issuer=%s\n--service-account-jwks-uri=%sopenid/v1/jwks\n--service-account-signing-key-file=/etc/kubernetes/pki/ward-sa.key\n--service-account-key-file=/etc/kubernetes/pki/ward-sa.pub\n", iss, iss)
				return nil, nil
			})(cmd, args)
		}}
	rotate := &cobra.Command{Use: "rotate-service-account-signing-key", Short: "Sign service-account tokens with a new issuer key; the old one stays published until its tokens expire",
		PreRunE: func(cmd *cobra.Command, args []string) error { return requireFlags(cmd, "name", "resource-group") },
		RunE: g.run(func(ctx context.Context, c *client.Client, sub string) (any, error) {
			return c.RotateServiceAccountSigningKey(ctx, sub, group, name)
		})}
	install := &cobra.Command{Use: "show-install", Short: "Print the manifests that install the workload identity webhook and the node agent on a cluster (kubectl apply -f -)",
		PreRunE: func(cmd *cobra.Command, args []string) error { return requireFlags(cmd, "name", "resource-group") },
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.runConn(func(ctx context.Context, c *conn) (any, error) {
				cl, err := c.client.GetCluster(ctx, c.sub, group, name)
				if err != nil {
					return nil, err
				}
				out, err := installManifests(clusterView(cl), c.tenant, c.server+"/")
				if err != nil {
					return nil, err
				}
				agentOut, err := agentInstall(clusterView(cl), c.server, c.profile.CAFile)
				if err != nil {
					return nil, err
				}
				out += agentOut
				if w := loopbackAuthority(c.server + "/"); w != "" {
					fmt.Fprintln(cmd.ErrOrStderr(), "WARNING: "+w)
				}
				_, err = io.WriteString(cmd.OutOrStdout(), out)
				return nil, err
			})(cmd, args)
		}}
	for _, c := range []*cobra.Command{signingKey, flags, rotate, install} {
		c.Flags().StringVarP(&name, "name", "n", "", "cluster name")
		c.Flags().StringVarP(&group, "resource-group", "g", "", "resource group")
	}
	cmd.AddCommand(create, update, show, list, del, getToken, signingKey, flags, rotate, install, aksNodepoolCmd(g))
	return cmd
}

// uploadedKeys reads bring-your-own keys: PEM public keys and/or a JWKS.
func uploadedKeys(pems []string, jwksArg string) (*jose.JSONWebKeySet, error) {
	if len(pems) == 0 && jwksArg == "" {
		return nil, nil
	}
	set := &jose.JSONWebKeySet{}
	read := func(v string) ([]byte, error) {
		if strings.HasPrefix(v, "@") {
			return os.ReadFile(v[1:])
		}
		return []byte(v), nil
	}
	for _, p := range pems {
		data, err := read(p)
		if err != nil {
			return nil, err
		}
		block, _ := pem.Decode(data)
		if block == nil {
			return nil, fmt.Errorf("--service-account-public-key: no PEM block")
		}
		pub, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("--service-account-public-key: %w", err)
		}
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: pub})
	}
	if jwksArg != "" {
		data, err := read(jwksArg)
		if err != nil {
			return nil, err
		}
		var more jose.JSONWebKeySet
		if err := json.Unmarshal(data, &more); err != nil {
			return nil, fmt.Errorf("--service-account-jwks: %w", err)
		}
		set.Keys = append(set.Keys, more.Keys...)
	}
	return set, nil
}

// installManifests is deploy/webhook as one YAML stream, with the
// ConfigMap filled in for this Ward server and a header that says what
// else the cluster needs.
func installManifests(cluster map[string]any, tenant, authority string) (string, error) {
	var b strings.Builder
	iss, _ := cluster["oidcIssuerProfile"].(map[string]any)["issuerUrl"].(string)
	fmt.Fprintf(&b, "# Ward workload identity webhook for cluster %v (apply with: kubectl apply -f -)\n", cluster["name"])
	if iss == "" {
		fmt.Fprintf(&b, "# The cluster has no OIDC issuer yet: ward aks update -n %v -g %v --enable-oidc-issuer\n", cluster["name"], cluster["resourceGroup"])
	} else {
		fmt.Fprintf(&b, "# Tokens must carry iss=%s: see ward aks show-apiserver-flags, or upload the\n# apiserver's keys with ward aks update --service-account-jwks.\n", iss)
	}
	if w := loopbackAuthority(authority); w != "" {
		b.WriteString("# WARNING: " + w + "\n")
	}
	b.WriteString("# Set the image of the Deployment to your build of ward.\n")
	for _, f := range deploy.WebhookFiles {
		data, err := deploy.Webhook.ReadFile("webhook/" + f)
		if err != nil {
			return "", err
		}
		text := string(data)
		if f == "configmap.yaml" {
			text = strings.NewReplacer(
				`AZURE_TENANT_ID: "00000000-0000-0000-0000-000000000000"`, fmt.Sprintf("AZURE_TENANT_ID: %q", tenant),
				`AZURE_AUTHORITY_HOST: "https://ward.example.internal/"`, fmt.Sprintf("AZURE_AUTHORITY_HOST: %q", authority),
			).Replace(text)
		}
		b.WriteString("---\n# " + f + "\n" + text)
	}
	return b.String(), nil
}

// loopbackAuthority warns when the authority host pods are given is a
// loopback address: inside a pod, 127.0.0.1 and localhost are the pod
// itself, so every token exchange would fail.
func loopbackAuthority(authority string) string {
	u, err := url.Parse(authority)
	if err != nil {
		return ""
	}
	host := strings.ToLower(u.Hostname())
	ip := net.ParseIP(host)
	if (ip == nil || !ip.IsLoopback()) && host != "localhost" && !strings.HasSuffix(host, ".localhost") {
		return ""
	}
	return fmt.Sprintf("AZURE_AUTHORITY_HOST would be %s, a loopback address: pods cannot reach it (it is the pod itself). Restart ward serve with an address pods reach, e.g. --addr 0.0.0.0:8443 --public-url https://<host reachable from the cluster>:8443", authority)
}
