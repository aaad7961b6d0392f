package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/ward-id/ward/client"
	"github.com/ward-id/ward/internal/kubeapi"
	"github.com/ward-id/ward/internal/podidmigrate"
	"github.com/ward-id/ward/internal/resourceid"
	"github.com/ward-id/ward/internal/shellquote"
	"k8s.io/client-go/rest"
)

func migrateCmd(g *Globals) *cobra.Command {
	cmd := &cobra.Command{Use: "migrate", Short: "Move a cluster's workloads to Ward's workload identity"}
	pod := g.command("aad-pod-identity", "Plan (or with --apply, perform) the move from aad-pod-identity: federated credentials, service-account annotations, pod labels", &migratePodIdentity{g: g})
	pod.Long = `Reads aad-pod-identity's AzureIdentity, AzureIdentityBinding and
AzurePodIdentityException objects and the pods they select, and prints the
plan: per binding, the pods and their service accounts; the federated
credentials to create on the cluster issuer; the service-account
annotations and pod-template labels to add; and what cannot be migrated
as is. Nothing changes without --apply; a second --apply changes nothing.

The issuer is --issuer, else that of the Ward cluster --cluster names,
else the one the API server publishes (/.well-known/openid-configuration).
-o table (the default here) prints the plan for a person, -o json for tools.`
	cmd.AddCommand(noArgs(pod))
	return cmd
}

// migratePodIdentity is `ward migrate aad-pod-identity`.
type migratePodIdentity struct {
	g                   *Globals
	kubeconfig, context string
	namespace           string
	cluster, issuer     string
	apply               bool
	forceNamespaced     bool
}

func (v *migratePodIdentity) flags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&v.kubeconfig, "kubeconfig", "", "kubeconfig file (default: KUBECONFIG, ~/.kube/config, in-cluster)")
	f.StringVar(&v.context, "context", "", "kubeconfig context (default: the current one)")
	f.StringVar(&v.namespace, "namespace", "", "read one namespace (default: all; a binding matches pods of every namespace unless its identity is namespaced)")
	f.StringVar(&v.cluster, "cluster", "", "the Ward cluster (name or resource ID) whose issuer the cluster's tokens carry")
	f.StringVar(&v.issuer, "issuer", "", "the cluster's service-account issuer URL, exactly as its tokens' iss claim")
	f.BoolVar(&v.apply, "apply", false, "make the changes (default: print the plan only)")
	f.BoolVar(&v.forceNamespaced, "force-namespaced", false, "aad-pod-identity ran with --forceNamespaced: identities match pods of their own namespace only")
}

func (v *migratePodIdentity) check(cmd *cobra.Command) error {
	if v.cluster != "" && v.issuer != "" {
		return fmt.Errorf("--cluster and --issuer are mutually exclusive: the issuer is the cluster's")
	}
	return nil
}

func (*migratePodIdentity) inSubscription() {}

// migrateResult is the plan as -o json prints it.
type migrateResult struct {
	*podidmigrate.Plan
	Applied bool   `json:"applied"`
	Pending int    `json:"pending"`
	Summary string `json:"summary"`
}

// run reads the cluster and Ward, plans, applies with --apply, and prints
// the plan; what it decides from what it read is in issuerSources.resolve,
// planMigration and v.output, tested without a server.
func (v *migratePodIdentity) run(ctx context.Context, e env, c *conn) (any, error) {
	k, err := v.connectKube()
	if err != nil {
		return nil, err
	}
	src := issuerSources{flag: v.issuer, cluster: v.cluster, published: apiServerIssuer(ctx, k.API), sub: c.sub}
	src.clusters, src.clustersErr = c.client.ListClusters(ctx, c.sub, "")
	issuer, notes, err := src.resolve()
	if err != nil {
		return nil, err
	}
	for _, n := range notes {
		fmt.Fprintln(e.errOut, n)
	}
	in, err := podidmigrate.Read(ctx, k, v.namespace)
	if err != nil {
		return nil, err
	}
	in.Issuer, in.ForceNamespaced = issuer, v.forceNamespaced
	ids, err := c.client.ListIdentities(ctx, c.sub, "")
	if err != nil {
		return nil, err
	}
	p, err := planMigration(in, ids, func(w podidmigrate.WardIdentity) ([]client.FederatedCredential, error) {
		return c.client.ListFederatedCredentials(ctx, c.sub, w.ResourceGroup, w.Name)
	})
	if err != nil {
		return nil, err
	}
	var applyErr error
	if v.apply {
		_, applyErr = podidmigrate.Apply(ctx, p, k.API, wardCredentials{c})
	}
	return v.output(e, p, applyErr)
}

// planMigration plans the move of in onto Ward's identities ids. It plans
// once to learn which identities the migration touches, reads only their
// federated credentials (through credentials), and plans again with them,
// so that a credential Ward holds already is in place, not pending.
func planMigration(in podidmigrate.Input, ids []client.Identity, credentials func(podidmigrate.WardIdentity) ([]client.FederatedCredential, error)) (*podidmigrate.Plan, error) {
	for _, id := range ids {
		in.Ward = append(in.Ward, podidmigrate.WardIdentity{ID: id.ID, Name: id.Name, ResourceGroup: groupOf(id.ID), ClientID: id.Properties.ClientID})
	}
	p, err := podidmigrate.NewPlan(in)
	if err != nil {
		return nil, err
	}
	used := map[string]bool{}
	for _, s := range p.FederatedCredentials {
		used[s.Identity] = true
	}
	for i := range in.Ward {
		w := &in.Ward[i]
		if !used[w.ID] {
			continue
		}
		fics, err := credentials(*w)
		if err != nil {
			return nil, err
		}
		for _, f := range fics {
			w.Credentials = append(w.Credentials, podidmigrate.Credential{Name: f.Name, Issuer: f.Properties.Issuer, Subject: f.Properties.Subject, Audiences: f.Properties.Audiences})
		}
	}
	return podidmigrate.NewPlan(in)
}

// output prints plan p, applied (with --apply) up to applyErr: a person
// reads the plan, so -o table is the default here, unlike the rest of the
// CLI; -o json (or yaml, tsv, --query) is for tools.
func (v *migratePodIdentity) output(e env, p *podidmigrate.Plan, applyErr error) (any, error) {
	format := "table"
	if v.g != nil && (e.changed("output") || v.g.Query != "") {
		format = v.g.Output
	}
	if format == "table" {
		if err := p.WriteText(e.out, v.apply); err != nil {
			return nil, err
		}
		return nil, applyErr
	}
	if applyErr != nil {
		// The plan says what was made before the failure.
		fmt.Fprintf(e.errOut, "%s\n", p.Summary(true))
		return nil, applyErr
	}
	return migrateResult{Plan: p, Applied: v.apply, Pending: p.Pending(), Summary: p.Summary(v.apply)}, nil
}

// wardCredentials creates federated credentials through the management
// API, as `ward identity federated-credential create` does.
type wardCredentials struct{ c *conn }

func (w wardCredentials) CreateFederatedCredential(ctx context.Context, s podidmigrate.CredentialStep) error {
	rid, err := resourceid.Parse(s.Identity)
	if err != nil {
		return err
	}
	_, _, err = w.c.client.CreateOrUpdateFederatedCredential(ctx, rid.Subscription, s.ResourceGroup, s.IdentityName, s.Name,
		client.FederatedCredentialProperties{Issuer: s.Issuer, Subject: s.Subject, Audiences: []string{s.Audience}})
	return err
}

func (v *migratePodIdentity) connectKube() (podidmigrate.Kube, error) {
	if v.g != nil && v.g.Kube != nil {
		return *v.g.Kube, nil
	}
	cfg, err := restConfig(v.kubeconfig, v.context)
	if err != nil {
		return podidmigrate.Kube{}, err
	}
	api, err := kubeapi.New(cfg)
	if err != nil {
		return podidmigrate.Kube{}, err
	}
	return podidmigrate.Kube{API: api}, nil
}

// restConfig loads a kubeconfig as kubectl does (KUBECONFIG, ~/.kube/config
// or in-cluster when kubeconfig is ""), in the given context or its current
// one.
func restConfig(kubeconfig, context string) (*rest.Config, error) {
	cfg, err := kubeapi.Config(kubeconfig, context, 30*time.Second)
	if err != nil {
		return nil, fmt.Errorf("%w (pass --kubeconfig and --context)", err)
	}
	return cfg, nil
}

// issuerSources is what the issuer the credentials name is chosen from:
// the flags (--issuer, --cluster), the issuer the API server publishes (""
// when it cannot be read) and the clusters of subscription sub in Ward
// (or why they could not be listed).
type issuerSources struct {
	flag, cluster, published, sub string
	clusters                      []client.Cluster
	clustersErr                   error
}

// resolve picks the issuer: --issuer, the Ward cluster's, or the API
// server's own. It returns the warnings to print with it: when both the
// API server's and another are known and differ (the credentials would not
// match the tokens the cluster issues), and when the issuer is no Ward
// cluster's.
func (s issuerSources) resolve() (string, []string, error) {
	issuer := s.flag
	if s.cluster != "" {
		if s.clustersErr != nil {
			return "", nil, s.clustersErr
		}
		var err error
		if issuer, err = clusterIssuer(s.clusters, s.cluster, s.sub); err != nil {
			return "", nil, err
		}
	}
	if issuer == "" {
		if s.published == "" {
			return "", nil, fmt.Errorf("cannot read the API server's issuer (/.well-known/openid-configuration): pass --cluster NAME (a cluster registered in Ward) or --issuer URL")
		}
		issuer = s.published
	}
	var notes []string
	if s.published != "" && s.published != issuer {
		notes = append(notes, fmt.Sprintf("WARNING: the API server publishes issuer %s, but the credentials will name %s: the cluster's tokens will not match them (see ward aks show-apiserver-flags)", s.published, issuer))
	}
	if s.cluster == "" && !s.wardClusterIssuer(issuer) {
		notes = append(notes, fmt.Sprintf("NOTE: issuer %s is not the hosted issuer of a cluster registered in Ward; Ward will fetch its discovery document and keys from that URL", issuer))
	}
	return issuer, notes, nil
}

// wardClusterIssuer reports whether issuer is a Ward cluster's (true when
// the clusters could not be listed: the note is advice, not a check).
func (s issuerSources) wardClusterIssuer(issuer string) bool {
	if s.clustersErr != nil {
		return true
	}
	for _, cl := range s.clusters {
		if cl.Properties.OIDCIssuerProfile.IssuerURL == issuer {
			return true
		}
	}
	return false
}

// apiServerIssuer is the issuer the API server's discovery document
// names, or "" when it cannot be read.
func apiServerIssuer(ctx context.Context, kc *kubeapi.Client) string {
	b, err := kc.GetPath(ctx, "/.well-known/openid-configuration")
	if err != nil {
		return ""
	}
	var doc struct {
		Issuer string `json:"issuer"`
	}
	if json.Unmarshal(b, &doc) != nil {
		return ""
	}
	return doc.Issuer
}

// clusterIssuer finds a Ward cluster among clusters (those of
// subscription sub) by resource ID or by name (which must then be unique)
// and returns its issuer.
func clusterIssuer(clusters []client.Cluster, ref, sub string) (string, error) {
	var found []client.Cluster
	for _, cl := range clusters {
		if strings.EqualFold(cl.ID, ref) || (!strings.HasPrefix(ref, "/") && strings.EqualFold(cl.Name, ref)) {
			found = append(found, cl)
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("no cluster %q in subscription %s (list them with 'ward aks list')", ref, sub)
	case 1:
	default:
		var ids []string
		for _, f := range found {
			ids = append(ids, f.ID)
		}
		sort.Strings(ids)
		return "", fmt.Errorf("%d clusters are named %q: pass --cluster with one's resource ID (%s)", len(found), ref, strings.Join(ids, ", "))
	}
	cl := found[0]
	if u := cl.Properties.OIDCIssuerProfile.IssuerURL; u != "" {
		return u, nil
	}
	return "", fmt.Errorf("cluster %s has no OIDC issuer: run %s", cl.Name, shellquote.Join("ward", "aks", "update", "-n", cl.Name, "-g", groupOf(cl.ID), "--enable-oidc-issuer"))
}
