package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/spf13/cobra"
	"github.com/ward-id/ward/client"
	"github.com/ward-id/ward/internal/shellquote"
)

func (r *report) skip(format string, a ...any) {
	fmt.Fprintf(r.w, "SKIP  %s\n", fmt.Sprintf(format, a...))
}

// wardCheck is what `ward doctor serviceaccount NAME --cluster C -g RG`
// checks without access to the cluster: Ward's side of the service account.
type wardCheck struct {
	cluster, group     string
	namespace, account string
	clientID, audience string
}

func runDoctorWard(cmd *cobra.Command, g *Globals, w wardCheck) error {
	c, err := g.connect(cmd)
	if err != nil {
		return err
	}
	r := &report{w: cmd.OutOrStdout()}
	if err := diagnoseWard(cmd.Context(), r, c, w); err != nil {
		return explain(err, c.profile)
	}
	if r.failed > 0 {
		return fmt.Errorf("%d check(s) failed", r.failed)
	}
	fmt.Fprintln(r.w, "All of Ward's checks passed (see SKIP for what needs the cluster).")
	return nil
}

// diagnoseWard walks the links Ward holds: the cluster's issuer and its
// discovery, the federated credentials naming the service account, a token
// minted by the cluster's hosted issuer exchanged at the token endpoint,
// and the identity's role assignments. It ends by naming what it could not
// see without the cluster.
func diagnoseWard(ctx context.Context, r *report, c *conn, w wardCheck) error {
	sub, err := c.subscription()
	if err != nil {
		return err
	}
	subject := serviceAccountSubject + w.namespace + ":" + w.account
	cl, err := c.client.GetCluster(ctx, sub, w.group, w.cluster)
	found := !client.IsNotFound(err)
	if found && err != nil {
		return err
	}
	iss := checkCluster(r, w, sub, cl, found)
	if iss == "" {
		return nil
	}
	checkDiscovery(ctx, r, c, iss)

	fics, err := allFederatedCredentials(ctx, c, sub)
	if err != nil {
		r.fail(fmt.Sprintf("cannot list the federated credentials of subscription %s: %v", sub, err), "check your role (Reader or above)")
		return nil
	}
	issuerMoveOf(iss, recordedPublicURL(c.profile), fics).report(r)

	var id client.Identity
	var ok bool
	if w.clientID != "" {
		id, ok, err = identityByClientID(ctx, r, c, w.clientID)
	} else {
		id, ok = identityTrustingCheck(r, fics, sub, iss, subject)
	}
	if err != nil || !ok {
		return err
	}
	group := groupOf(id.ID)
	r.ok("managed identity %s (resource group %s, client ID %s, principal %s)", id.Name, group, id.Properties.ClientID, id.Properties.PrincipalID)
	checkFederatedCredentials(ctx, r, c, id, group, iss, subject, w.audience)

	tok, err := c.client.GetServiceAccountToken(ctx, sub, w.group, w.cluster, w.namespace, w.account, w.audience, 3600)
	if err != nil {
		r.skip("the token exchange: Ward cannot mint a token of cluster %s (%v); with the cluster's keys uploaded (bring your own), check it with --kubeconfig", w.cluster, firstLine(err.Error()))
	} else {
		r.ok("dev token from the cluster's issuer (getServiceAccountToken): %s", tokenSummary(tok.Token))
		checkExchange(ctx, r, c, c.server+"/", c.tenant, id.Properties.ClientID, tok.Token)
	}
	if err := checkRoles(ctx, r, c, id); err != nil {
		return err
	}
	r.skip("the service account object and its %s annotation, the pod's label, injected environment and token mount, and the API server's own token: these need the cluster (pass --kubeconfig instead of --cluster)",
		"azure.workload.identity/client-id")
	return nil
}

// checkCluster reports on the cluster w names in subscription sub, as
// GetCluster returned it (found false: it does not exist), and returns its
// issuer, or "" when the checks cannot go on.
func checkCluster(r *report, w wardCheck, sub string, cl client.Cluster, found bool) string {
	if !found {
		r.fail(fmt.Sprintf("cluster %s in resource group %s does not exist in subscription %s", w.cluster, w.group, sub),
			"check the name: ward aks list -o table")
		return ""
	}
	iss := cl.Properties.OIDCIssuerProfile.IssuerURL
	if iss == "" {
		r.fail(fmt.Sprintf("cluster %s has no OIDC issuer, so no token of it can be exchanged", w.cluster),
			shellquote.Join("ward", "aks", "update", "-n", w.cluster, "-g", w.group, "--enable-oidc-issuer", "--enable-workload-identity"))
		return ""
	}
	r.ok("cluster %s has the hosted OIDC issuer %s", w.cluster, iss)
	if !cl.Properties.SecurityProfile.WorkloadIdentity.Enabled {
		r.note("workload identity is not enabled on cluster %s (AKS needs it for the webhook; Ward's exchange does not): %s", w.cluster,
			shellquote.Join("ward", "aks", "update", "-n", w.cluster, "-g", w.group, "--enable-workload-identity"))
	}
	return iss
}

// identityByClientID is the identity --client-id names.
func identityByClientID(ctx context.Context, r *report, c *conn, clientID string) (client.Identity, bool, error) {
	id, ok, err := findIdentity(ctx, c, clientID)
	if err != nil {
		return client.Identity{}, false, err
	}
	if !ok {
		r.fail(fmt.Sprintf("no managed identity in subscription %s has client ID %s", c.sub, clientID),
			"check it against: ward identity list --query \"[].{name:name, clientId:clientId}\" -o table")
	}
	return id, ok, nil
}

// identityTrustingCheck picks the identity to check among the
// subscription's federated credentials fics: the one whose credential
// names the cluster's issuer and the service account's subject. With none
// it picks the identity of the nearest credential, whose check explains
// what differs; with no credential near, it says how to create one.
func identityTrustingCheck(r *report, fics []ficOf, sub, iss, subject string) (client.Identity, bool) {
	var exact, near []client.Identity
	seen := map[string]bool{}
	for _, f := range fics {
		if key := strings.ToLower(f.identity.ID); !seen[key] && trusts(f.fic.Properties, iss, subject) {
			exact, seen[key] = append(exact, f.identity), true
		}
	}
	for _, f := range fics {
		p := f.fic.Properties
		key := strings.ToLower(f.identity.ID)
		if seen[key] {
			continue
		}
		if p.Issuer == iss || p.Subject == subject || strings.EqualFold(p.Subject, subject) ||
			strings.TrimSuffix(p.Issuer, "/") == strings.TrimSuffix(iss, "/") || movedHost(p.Issuer, iss) {
			near, seen[key] = append(near, f.identity), true
		}
	}
	switch {
	case len(exact) == 1:
		return exact[0], true
	case len(exact) > 1:
		var names []string
		for _, id := range exact {
			names = append(names, id.Name+" ("+id.Properties.ClientID+")")
		}
		r.note("%d identities trust %s: %s; the service account's annotation picks one (checking the first; choose with --client-id)", len(exact), subject, strings.Join(names, ", "))
		return exact[0], true
	case len(near) > 0:
		// The explanation of the nearest credential says what differs.
		return near[0], true
	}
	r.fail(fmt.Sprintf("no identity in subscription %s has a federated credential for issuer %s and subject %s", sub, iss, subject),
		shellquote.Join("ward", "identity", "federated-credential", "create", "--name", "NAME", "--identity-name", "IDENTITY", "-g", "GROUP", "--issuer", iss, "--subject", subject))
	return client.Identity{}, false
}

// checkDiscovery reads the issuer's discovery document and JWKS as an
// external verifier would.
func checkDiscovery(ctx context.Context, r *report, c *conn, iss string) {
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := getJSON(ctx, c.creds.HTTP, strings.TrimSuffix(iss, "/")+"/.well-known/openid-configuration", &doc); err != nil {
		r.fail(fmt.Sprintf("the issuer's discovery document does not load: %v", err), "check that Ward's public URL (ward serve --public-url) is reachable from here")
		return
	}
	if doc.Issuer != iss {
		r.fail(fmt.Sprintf("the discovery document names issuer %s, not %s", doc.Issuer, iss), "restart ward serve with the --public-url the cluster was registered with")
		return
	}
	var set jose.JSONWebKeySet
	if err := getJSON(ctx, c.creds.HTTP, doc.JWKSURI, &set); err != nil || len(set.Keys) == 0 {
		r.fail(fmt.Sprintf("the issuer's JWKS at %s has no keys (%v)", doc.JWKSURI, err), "for a bring-your-own cluster upload its keys: ward aks update --service-account-jwks @jwks.json")
		return
	}
	r.ok("the issuer's discovery document and JWKS (%d key(s)) load", len(set.Keys))
}

func getJSON(ctx context.Context, hc *http.Client, url string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.Unmarshal(b, out)
}

// tokenSummary prints the claims the federated credential is matched on.
func tokenSummary(raw string) string {
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		return "(unparsable)"
	}
	var cl jwt.Claims
	_ = tok.UnsafeClaimsWithoutVerification(&cl) // shown only; Ward verifies it in the exchange
	return fmt.Sprintf("iss=%s sub=%s aud=%s", cl.Issuer, cl.Subject, strings.Join(slices.Clip(cl.Audience), ","))
}

// checkIssuerMoved tells, for a token's issuer that Ward does not host,
// whether one of Ward's clusters hosts it at another host:port: the
// apiserver still signs with the issuer URL Ward had before its public URL
// changed.
func checkIssuerMoved(ctx context.Context, r *report, c *conn, iss string) {
	clusters, err := c.client.ListClusters(ctx, c.sub, "")
	if err != nil {
		return
	}
	adviseIssuerMoved(r, clusters, iss)
}

// adviseIssuerMoved is checkIssuerMoved's advice for a token's issuer iss
// among Ward's clusters.
func adviseIssuerMoved(r *report, clusters []client.Cluster, iss string) {
	for _, cl := range clusters {
		now := cl.Properties.OIDCIssuerProfile.IssuerURL
		if now != "" && movedHost(iss, now) {
			u, _ := url.Parse(iss)
			r.fail(fmt.Sprintf("the token's issuer %s is cluster %s's issuer as it was before Ward's public URL changed; it is now %s", iss, cl.Name, now),
				"serve at the old URL again:\n        "+shellquote.Join("ward", "serve", "--public-url", "https://"+u.Host)+
					"\n      or reconfigure kube-apiserver and the federated credentials:\n        "+
					shellquote.Join("ward", "aks", "show-apiserver-flags", "-n", cl.Name, "-g", groupOf(cl.ID)))
			return
		}
	}
}
