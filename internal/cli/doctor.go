package cli

import (
	"context"
	"encoding/json"
	"errors"
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
	"github.com/ward-id/ward/internal/audience"
	"github.com/ward-id/ward/internal/claimsexpr"
	"github.com/ward-id/ward/internal/kubeapi"
	"github.com/ward-id/ward/internal/shellquote"
	"github.com/ward-id/ward/internal/webhook"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
)

// doctorCmd walks the chain the seeds' troubleshooting sections walk by
// hand, from the pod's label to the identity's role assignments, and says
// for each link what is wrong and the command that fixes it.
func doctorCmd(g *Globals) *cobra.Command {
	cmd := &cobra.Command{Use: "doctor", Short: "Diagnose workload identity for a pod or service account, step by step"}
	var pod doctorPod
	podCmd := &cobra.Command{Use: "pod NAME", Short: "Check a pod: label, service account, injected env and token mount, token claims, federated credential, exchange, roles",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return pod.run(cmd, g, args[0]) }}
	pod.flags(podCmd)
	var sa doctorServiceAccount
	saCmd := &cobra.Command{Use: "serviceaccount NAME|NAMESPACE/NAME", Aliases: []string{"sa"},
		Short: "Check a service account: annotation, token claims, federated credential, exchange, roles",
		Long: `Check a service account end to end.

With the cluster (--kubeconfig, KUBECONFIG, ~/.kube/config or in-cluster):
the annotation, a token from the API server, the federated credential, the
cluster's issuer, an exchange at Ward and the identity's role assignments.

Without it, --cluster and -g check Ward's side alone: the cluster's hosted
issuer and its discovery, the federated credential for the service
account's subject and audience, an exchange with a token the cluster's
hosted issuer mints (ward aks get-token), and the role assignments; the
report names what it skipped.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return sa.run(cmd, g, args[0]) }}
	sa.flags(saCmd)
	cmd.AddCommand(podCmd, saCmd)
	return cmd
}

// kubeTarget is the flags of a doctor verb that may read the cluster.
type kubeTarget struct{ namespace, kubeconfig string }

func (k *kubeTarget) flags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&k.namespace, "namespace", "default", "Kubernetes namespace")
	cmd.Flags().StringVar(&k.kubeconfig, "kubeconfig", "", "kubeconfig file (default: KUBECONFIG, ~/.kube/config, in-cluster)")
}

// doctorPod is `ward doctor pod NAME`.
type doctorPod struct{ kubeTarget }

func (d *doctorPod) run(cmd *cobra.Command, g *Globals, name string) error {
	return runDoctor(cmd, g, d.kubeconfig, d.namespace, name, "")
}

// doctorServiceAccount is `ward doctor serviceaccount NAME`: through the
// cluster, or with --cluster and -g Ward's side alone.
type doctorServiceAccount struct {
	kubeTarget
	ward wardCheck
}

func (d *doctorServiceAccount) flags(cmd *cobra.Command) {
	d.kubeTarget.flags(cmd)
	cmd.Flags().StringVar(&d.ward.cluster, "cluster", "", "without a kubeconfig: the cluster registered in Ward (with -g) whose side to check")
	cmd.Flags().StringVarP(&d.ward.group, "resource-group", "g", "", "the cluster's resource group")
	cmd.Flags().StringVar(&d.ward.clientID, "client-id", "", "with --cluster: the identity the service account's annotation names (default: the one trusting it)")
	cmd.Flags().StringVar(&d.ward.audience, "audience", webhook.DefaultAudience, "with --cluster: the token audience")
}

func (d *doctorServiceAccount) run(cmd *cobra.Command, g *Globals, arg string) error {
	ns, name, err := parseServiceAccount(arg, d.namespace, cmd.Flags().Changed("namespace"))
	if err != nil {
		return err
	}
	if d.ward.cluster != "" && d.kubeconfig == "" {
		if err := requireFlags(cmd, "resource-group"); err != nil {
			return err
		}
		w := d.ward
		w.namespace, w.account = ns, name
		return runDoctorWard(cmd, g, w)
	}
	return runDoctor(cmd, g, d.kubeconfig, ns, "", name)
}

// report prints one line per check and remembers failures.
type report struct {
	w      io.Writer
	failed int
}

func (r *report) ok(format string, a ...any) {
	fmt.Fprintf(r.w, "OK    %s\n", fmt.Sprintf(format, a...))
}
func (r *report) note(format string, a ...any) {
	fmt.Fprintf(r.w, "NOTE  %s\n", fmt.Sprintf(format, a...))
}
func (r *report) fail(what, fix string) {
	r.failed++
	fmt.Fprintf(r.w, "FAIL  %s\n      fix: %s\n", what, fix)
}

func runDoctor(cmd *cobra.Command, g *Globals, kubeconfig, ns, podName, saName string) error {
	ctx := cmd.Context()
	kube, err := webhook.Kubernetes(kubeconfig)
	if err != nil {
		return fmt.Errorf("%w; without access to the cluster, check Ward's side of a service account: ward doctor serviceaccount NAME --namespace NS --cluster CLUSTER -g GROUP", err)
	}
	c, err := g.connect(cmd)
	if err != nil {
		return err
	}
	r := &report{w: cmd.OutOrStdout()}
	err = diagnose(ctx, r, kube, c, ns, podName, saName)
	if err != nil {
		return err
	}
	if r.failed > 0 {
		return fmt.Errorf("%d check(s) failed", r.failed)
	}
	fmt.Fprintln(r.w, "All checks passed.")
	return nil
}

func diagnose(ctx context.Context, r *report, kube dynamic.Interface, c *conn, ns, podName, saName string) error {
	var pod *corev1.Pod
	if podName != "" {
		p := new(corev1.Pod)
		if err := kubeapi.Get(ctx, kube, kubeapi.Pods, ns, podName, p); err != nil {
			return fmt.Errorf("read pod %s/%s: %w", ns, podName, err)
		}
		pod = p
		if v := p.Labels[webhook.LabelUse]; v == "true" {
			r.ok("pod %s/%s has label %s: \"true\"", ns, podName, webhook.LabelUse)
		} else {
			r.fail(fmt.Sprintf("pod %s/%s lacks label %s: \"true\" (has %q), so the webhook never sees it", ns, podName, webhook.LabelUse, v),
				fmt.Sprintf("add the label to the pod template (metadata.labels.\"%s\": \"true\"), then recreate the pod", webhook.LabelUse))
		}
		saName = p.Spec.ServiceAccountName
		if saName == "" {
			saName = webhook.DefaultServiceAccount
		}
	}
	sa := new(corev1.ServiceAccount)
	err := kubeapi.Get(ctx, kube, kubeapi.ServiceAccounts, ns, saName, sa)
	if apierrors.IsNotFound(err) {
		r.fail(fmt.Sprintf("service account %s/%s does not exist", ns, saName), shellquote.Join("kubectl", "create", "serviceaccount", saName, "-n", ns))
		return nil
	} else if err != nil {
		return fmt.Errorf("read service account %s/%s: %w", ns, saName, err)
	}
	clientID := sa.Annotations[webhook.AnnotationClientID]
	if pod != nil && pod.Annotations[webhook.AnnotationClientID] != "" {
		clientID = pod.Annotations[webhook.AnnotationClientID]
		r.ok("pod annotation %s: %s (overrides the service account's)", webhook.AnnotationClientID, clientID)
	} else if clientID != "" {
		r.ok("service account %s/%s has %s: %s", ns, saName, webhook.AnnotationClientID, clientID)
	} else {
		r.fail(fmt.Sprintf("service account %s/%s has no annotation %s", ns, saName, webhook.AnnotationClientID),
			// The command substitution is Ward's own text; every value around it is quoted.
			shellquote.Join("kubectl", "annotate", "serviceaccount", saName, "-n", ns)+" "+shellquote.Quote(webhook.AnnotationClientID+"=")+
				"$(ward identity show -g GROUP -n NAME --query clientId -o tsv)")
	}

	audience := webhook.DefaultAudience
	authority, tenant := c.server+"/", c.tenant
	if pod != nil {
		audience, authority, tenant = checkPodInjection(r, pod, clientID, authority, tenant)
	}

	// A token as the kubelet would get it for the projected volume.
	// The service account's token subresource; the dynamic client takes
	// the service account's name from the request's.
	req := &authenticationv1.TokenRequest{TypeMeta: metav1.TypeMeta{APIVersion: "authentication.k8s.io/v1", Kind: "TokenRequest"},
		ObjectMeta: metav1.ObjectMeta{Name: saName, Namespace: ns}, Spec: authenticationv1.TokenRequestSpec{Audiences: []string{audience}}}
	if pod != nil {
		req.Spec.BoundObjectRef = &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID}
	}
	tr := new(authenticationv1.TokenRequest)
	if err := kubeapi.Create(ctx, kube, kubeapi.ServiceAccounts, ns, req, tr, "token"); err != nil {
		r.note("could not request a token for %s/%s to check its claims (%v); the remaining checks need one", ns, saName, err)
		return nil
	}
	var claims struct {
		jwt.Claims
	}
	tok, err := jwt.ParseSigned(tr.Status.Token, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.RS384, jose.RS512, jose.ES384, jose.ES512, jose.PS256})
	if err != nil {
		return fmt.Errorf("the API server's token does not parse: %w", err)
	}
	_ = tok.UnsafeClaimsWithoutVerification(&claims) // only read here; Ward verifies it in the exchange below
	r.ok("token from the API server: iss=%s sub=%s aud=%s", claims.Issuer, claims.Subject, strings.Join(claims.Audience, ","))

	if clientID == "" {
		return nil
	}
	id, ok, err := findIdentity(ctx, c, clientID)
	if err != nil {
		return err
	}
	if !ok {
		r.fail(fmt.Sprintf("no managed identity in subscription %s has client ID %s", c.sub, clientID),
			"check the annotation against: ward identity list --query \"[].{name:name, clientId:clientId}\" -o table")
		return nil
	}
	group := groupOf(id.ID)
	r.ok("managed identity %s (resource group %s, principal %s)", id.Name, group, id.Properties.PrincipalID)
	checkFederatedCredentials(ctx, r, c, id, group, claims.Issuer, claims.Subject, audience)
	checkClusterIssuer(ctx, r, c, claims.Issuer)
	checkIssuerMoved(ctx, r, c, claims.Issuer)
	checkExchange(ctx, r, c, authority, tenant, clientID, tr.Status.Token)
	return checkRoles(ctx, r, c, id)
}

// checkPodInjection checks what the webhook put into the running pod and
// returns the audience, authority and tenant the pod will use.
func checkPodInjection(r *report, pod *corev1.Pod, clientID, authority, tenant string) (string, string, string) {
	audience := webhook.DefaultAudience
	var volume bool
	for _, v := range pod.Spec.Volumes {
		if v.Name == webhook.VolumeName && v.Projected != nil && len(v.Projected.Sources) > 0 && v.Projected.Sources[0].ServiceAccountToken != nil {
			volume = true
			audience = v.Projected.Sources[0].ServiceAccountToken.Audience
		}
	}
	skip := webhook.SkipContainers(pod.Annotations[webhook.AnnotationSkipContainers])
	injected := 0
	for _, ctr := range append(slices.Clip(pod.Spec.InitContainers), pod.Spec.Containers...) {
		if skip[ctr.Name] {
			continue
		}
		env := map[string]string{}
		for _, e := range ctr.Env {
			env[e.Name] = e.Value
		}
		mounted := slices.ContainsFunc(ctr.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == webhook.TokenMountDir })
		var missing []string
		for _, k := range []string{webhook.EnvClientID, webhook.EnvTenantID, webhook.EnvTokenFile, webhook.EnvAuthorityHost} {
			if _, ok := env[k]; !ok {
				missing = append(missing, k)
			}
		}
		if !mounted {
			missing = append(missing, "token mount at "+webhook.TokenMountDir)
		}
		if len(missing) > 0 {
			r.fail(fmt.Sprintf("container %s lacks %s", ctr.Name, strings.Join(missing, ", ")),
				"the webhook did not mutate this pod (created before the label or the webhook, or the webhook is not installed: ward aks show-install); recreate the pod, e.g. kubectl rollout restart")
			continue
		}
		injected++
		if clientID != "" && env[webhook.EnvClientID] != clientID {
			r.fail(fmt.Sprintf("container %s has AZURE_CLIENT_ID=%s but the annotation now says %s", ctr.Name, env[webhook.EnvClientID], clientID),
				"the annotation changed after the pod started; restart the pod (kubectl rollout restart)")
		}
		if env[webhook.EnvAuthorityHost] != "" {
			authority = env[webhook.EnvAuthorityHost]
		}
		if env[webhook.EnvTenantID] != "" {
			tenant = env[webhook.EnvTenantID]
		}
	}
	if injected > 0 {
		r.ok("env AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE, AZURE_AUTHORITY_HOST and the token mount are in %d container(s)", injected)
	}
	if !volume {
		r.fail(fmt.Sprintf("pod has no projected token volume %q", webhook.VolumeName), "recreate the pod with the webhook installed and the label set")
	}
	return audience, authority, tenant
}

func findIdentity(ctx context.Context, c *conn, clientID string) (client.Identity, bool, error) {
	ids, err := c.client.ListIdentities(ctx, c.sub, "")
	if err != nil {
		return client.Identity{}, false, err
	}
	for _, id := range ids {
		if strings.EqualFold(id.Properties.ClientID, clientID) {
			return id, true, nil
		}
	}
	return client.Identity{}, false, nil
}

// checkFederatedCredentials finds the credential that matches the token
// exactly, or explains the nearest one.
func checkFederatedCredentials(ctx context.Context, r *report, c *conn, id client.Identity, group, iss, sub, aud string) {
	fics, err := c.client.ListFederatedCredentials(ctx, c.sub, group, id.Name)
	if err != nil {
		r.fail(fmt.Sprintf("cannot list federated credentials of %s: %v", id.Name, err), "check your role on the identity (Reader or above)")
		return
	}
	adviseFederatedCredentials(r, fics, id, group, iss, sub, aud)
}

// adviseFederatedCredentials reports the credential among fics (those of
// identity id, in group) that matches a token of issuer iss, subject sub
// and audience aud, or explains the nearest one with the command that
// fixes it.
func adviseFederatedCredentials(r *report, fics []client.FederatedCredential, id client.Identity, group, iss, sub, aud string) {
	create := shellquote.Join("ward", "identity", "federated-credential", "create", "--name", "NAME", "--identity-name", id.Name, "-g", group, "--issuer", iss, "--subject", sub)
	for _, f := range fics {
		p := f.Properties
		if p.Issuer == iss && p.ClaimsMatchingExpression == nil && p.Subject == sub && slices.Contains(p.Audiences, aud) {
			r.ok("federated credential %q matches (issuer, subject, audience)", f.Name)
			return
		}
	}
	if checkFlexibleCredentials(r, fics, id, group, iss, sub, aud, create) {
		return
	}
	for _, f := range fics {
		if f.Properties.ClaimsMatchingExpression != nil {
			continue // explained above
		}
		p := f.Properties
		switch {
		case p.Issuer == iss && p.Subject != sub && strings.EqualFold(p.Subject, sub):
			r.fail(fmt.Sprintf("federated credential %q has subject %s, the token's is %s (subjects are case-sensitive)", f.Name, p.Subject, sub), create)
			return
		case p.Issuer == iss && p.Subject != sub:
			r.fail(fmt.Sprintf("federated credential %q has subject %s, the pod runs as %s", f.Name, p.Subject, sub), create)
			return
		case p.Subject == sub && p.Issuer != iss:
			why := ""
			if strings.TrimSuffix(p.Issuer, "/") == strings.TrimSuffix(iss, "/") {
				why = " (they differ only by the trailing '/')"
			}
			r.fail(fmt.Sprintf("federated credential %q has issuer %s, the token's is %s%s", f.Name, p.Issuer, iss, why), create)
			return
		case p.Subject == sub && p.Issuer == iss:
			r.fail(fmt.Sprintf("federated credential %q has audiences %v, the token's is %s", f.Name, p.Audiences, aud),
				shellquote.Join("ward", "identity", "federated-credential", "update", "--name", f.Name, "--identity-name", id.Name, "-g", group, "--audiences", aud))
			return
		}
	}
	r.fail(fmt.Sprintf("none of the %d federated credential(s) of %s trusts issuer %s with subject %s", len(fics), id.Name, iss, sub), create)
}

func checkClusterIssuer(ctx context.Context, r *report, c *conn, iss string) {
	clusters, err := c.client.ListClusters(ctx, c.sub, "")
	if err != nil {
		return
	}
	for _, cl := range clusters {
		if cl.Properties.OIDCIssuerProfile.IssuerURL == iss {
			r.ok("issuer %s is the hosted issuer of cluster %s (resource group %s)", iss, cl.Name, groupOf(cl.ID))
			return
		}
	}
	r.note("issuer %s is not a cluster registered in Ward; Ward will fetch its discovery document and keys from that URL (for a self-managed cluster see ward aks show-apiserver-flags)", iss)
}

// checkExchange does what the SDK in the pod does: a client-assertion
// token request, and reports Ward's answer.
func checkExchange(ctx context.Context, r *report, c *conn, authority, tenant, clientID, assertion string) {
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "scope": {audience.Management + ".default"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion}}
	endpoint := strings.TrimSuffix(authority, "/") + "/" + url.PathEscape(tenant) + "/oauth2/v2.0/token"
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.creds.HTTP.Do(req)
	if err != nil {
		r.fail(fmt.Sprintf("cannot reach the token endpoint %s: %v", endpoint, err), "check AZURE_AUTHORITY_HOST (the webhook's --authority-host) is Ward's public URL and reachable")
		return
	}
	defer resp.Body.Close()
	var out struct {
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	_ = json.Unmarshal(b, &out)
	if resp.StatusCode == http.StatusOK {
		r.ok("token exchange at %s succeeded", endpoint)
		return
	}
	msg := out.ErrorDescription
	if msg == "" {
		msg = strings.TrimSpace(string(b))
	}
	r.fail("token exchange refused: "+firstLine(msg), "the sign-in log has the details: ward monitor sign-ins list --offset 10m -o table")
}

func firstLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return s[:i]
	}
	return s
}

func checkRoles(ctx context.Context, r *report, c *conn, id client.Identity) error {
	items, err := c.client.ListRoleAssignments(ctx, "/", "principalId eq '"+id.Properties.PrincipalID+"'")
	if err != nil {
		var ce *client.Error
		if errors.As(err, &ce) {
			r.note("cannot list role assignments: %s", ce.Message)
			return nil
		}
		return err
	}
	var defs []client.RoleDefinition
	if len(items) > 0 {
		defs, _ = c.client.ListRoleDefinitions(ctx, "/", "")
	}
	adviseRoles(r, id, items, defs)
	return nil
}

// adviseRoles reports identity id's role assignments, named by the role
// definitions defs, or, with none, the command that grants one.
func adviseRoles(r *report, id client.Identity, items []client.RoleAssignment, defs []client.RoleDefinition) {
	if len(items) == 0 {
		r.fail(fmt.Sprintf("%s has no role assignments: it can sign in but is allowed nothing", id.Name),
			shellquote.Join("ward", "role", "assignment", "create", "--assignee", id.Properties.ClientID, "--role", "Key Vault Secrets User", "--scope", "VAULT_ID")+
				" # at the narrowest scope that works")
		return
	}
	names := map[string]string{}
	for _, d := range defs {
		names[strings.ToLower(d.Name)] = d.Properties.RoleName
	}
	for _, a := range items {
		rid := a.Properties.RoleDefinitionID
		r.ok("role %q at %s", names[strings.ToLower(rid[strings.LastIndex(rid, "/")+1:])], a.Properties.Scope)
	}
}

// flexibleOf parses a flexible credential's expression; nil for a plain
// credential or one this Ward cannot read.
func flexibleOf(p client.FederatedCredentialProperties) *claimsexpr.Expr {
	e := p.ClaimsMatchingExpression
	if e == nil {
		return nil
	}
	x, err := claimsexpr.ParseVersion(e.Value, e.LanguageVersion)
	if err != nil {
		return nil
	}
	return x
}

// trusts reports whether a federated credential with properties p accepts
// a token of issuer iss and subject sub: the same issuer, and the same
// subject or a claims matching expression that accepts it.
func trusts(p client.FederatedCredentialProperties, iss, sub string) bool {
	if p.Issuer != iss {
		return false
	}
	if p.ClaimsMatchingExpression == nil {
		return p.Subject == sub
	}
	x := flexibleOf(p)
	return x != nil && x.Match(subjectOnly(sub))
}

// subjectOnly is the claims of a Kubernetes service-account token that a
// claims matching expression may read: sub (job_workflow_ref is GitHub's).
func subjectOnly(sub string) claimsexpr.ClaimSource {
	return func(name string) (string, bool) { return sub, name == "sub" && sub != "" }
}

// checkFlexibleCredentials reports the flexible credential of issuer iss
// whose expression accepts the token, or explains clause by clause why
// none does (the first few; the rest counted). It reports true when it
// said the last word on the credentials (a match, or only flexible
// credentials for this issuer).
func checkFlexibleCredentials(r *report, fics []client.FederatedCredential, id client.Identity, group, iss, sub, aud, create string) bool {
	claims := subjectOnly(sub)
	var refused []string
	plainForIssuer := false
	for _, f := range fics {
		p := f.Properties
		if p.Issuer != iss {
			continue
		}
		x := flexibleOf(p)
		if x == nil {
			plainForIssuer = plainForIssuer || p.ClaimsMatchingExpression == nil
			continue
		}
		if !x.Match(claims) {
			refused = append(refused, fmt.Sprintf("federated credential %q (%s): %s", f.Name, x, claimsexpr.Describe(x.Explain(claims))))
			continue
		}
		if slices.Contains(p.Audiences, aud) {
			r.ok("federated credential %q matches (issuer, claims matching expression %s, audience)", f.Name, x)
			return true
		}
		r.fail(fmt.Sprintf("federated credential %q accepts the token's claims (%s) but has audiences %v, the token's is %s", f.Name, x, p.Audiences, aud),
			shellquote.Join("ward", "identity", "federated-credential", "update", "--name", f.Name, "--identity-name", id.Name, "-g", group, "--audiences", aud))
		return true
	}
	if len(refused) == 0 {
		return false
	}
	const shown = 3
	for i, m := range refused {
		switch {
		case i == 0:
			r.fail(m, create)
		case i == shown:
			r.note("and %d more flexible credential(s) of issuer %s refuse the token", len(refused)-shown, iss)
		case i < shown:
			r.note("%s", m)
		}
	}
	return !plainForIssuer
}
