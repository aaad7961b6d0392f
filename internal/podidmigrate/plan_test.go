package podidmigrate

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const (
	testIssuer = "https://ward.example/issuers/c1/"
	wardSub    = "00000000-0000-0000-0000-00000000000a"
	azureSub   = "11111111-1111-1111-1111-111111111111"
)

func wardID(group, name, clientID string, creds ...Credential) WardIdentity {
	return WardIdentity{ID: "/subscriptions/" + wardSub + "/resourceGroups/" + group + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/" + name,
		Name: name, ResourceGroup: group, ClientID: clientID, Credentials: creds}
}

func azureID(ns, name, group, idName, clientID string) AzureIdentity {
	return AzureIdentity{Namespace: ns, Name: name, Type: TypeUserAssignedMSI, ClientID: clientID,
		ResourceID: "/subscriptions/" + wardSub + "/resourcegroups/" + group + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/" + idName}
}

func deployment(ns, name string, labels map[string]string) *Workload {
	return &Workload{Kind: "Deployment", Namespace: ns, Name: name, TemplateLabels: labels}
}

func pod(ns, name, sa, selector string, owner *Workload) Pod {
	labels := map[string]string{}
	if selector != "" {
		labels[BindingLabel] = selector
	}
	return Pod{Namespace: ns, Name: name, ServiceAccount: sa, Labels: labels, Owner: owner}
}

func sa(ns, name string, ann map[string]string) ServiceAccount {
	return ServiceAccount{Namespace: ns, Name: name, Annotations: ann}
}

// summary flattens a plan into sorted lines, so that a case states what it
// wants in a few strings and a failure shows the difference.
func summary(p *Plan) []string {
	var out []string
	for _, s := range p.FederatedCredentials {
		out = append(out, fmt.Sprintf("fic %s %s/%s %s", s.State, s.ResourceGroup, s.IdentityName, s.Subject))
	}
	for _, s := range p.ServiceAccounts {
		out = append(out, fmt.Sprintf("sa %s %s/%s=%s", s.State, s.Namespace, s.Name, s.ClientID))
	}
	for _, s := range p.Workloads {
		out = append(out, fmt.Sprintf("template %s %s/%s/%s", s.State, s.Kind, s.Namespace, s.Name))
	}
	for _, is := range p.Issues {
		out = append(out, "issue "+is.Kind+" "+is.Object)
	}
	slices.Sort(out)
	return out
}

func TestNewPlan(t *testing.T) {
	web := deployment("apps", "web", map[string]string{"app": "web", BindingLabel: "web"})
	webDone := deployment("apps", "web", map[string]string{"app": "web", BindingLabel: "web", UseLabel: "true"})
	base := func() Input {
		return Input{
			Issuer:          testIssuer,
			Identities:      []AzureIdentity{azureID("apps", "web-id", "rg", "web-identity", "azure-client-web")},
			Bindings:        []AzureIdentityBinding{{Namespace: "apps", Name: "web-binding", AzureIdentity: "web-id", Selector: "web"}},
			Pods:            []Pod{pod("apps", "web-1", "web-sa", "web", web), pod("apps", "web-2", "web-sa", "web", web)},
			ServiceAccounts: []ServiceAccount{sa("apps", "web-sa", nil)},
			Ward:            []WardIdentity{wardID("rg", "web-identity", "ward-client-web")},
		}
	}
	with := func(f func(*Input)) Input { in := base(); f(&in); return in }
	subject := "system:serviceaccount:apps:web-sa"
	ficPending := "fic pending rg/web-identity " + subject
	saPending := "sa pending apps/web-sa=ward-client-web"
	tplPending := "template pending Deployment/apps/web"

	cases := []struct {
		name string
		in   Input
		want []string
		// msg is text one issue's message or fix must hold.
		msg string
	}{
		{name: "deployment on its own service account", in: base(), want: []string{ficPending, saPending, tplPending}},
		{name: "already migrated: credential under another name, annotation, label", in: with(func(in *Input) {
			in.Ward[0].Credentials = []Credential{{Name: "by-hand", Issuer: testIssuer, Subject: subject, Audiences: []string{"api://AzureADTokenExchange"}}}
			in.ServiceAccounts[0].Annotations = map[string]string{"azure.workload.identity/client-id": "ward-client-web"}
			in.Pods = []Pod{pod("apps", "web-1", "web-sa", "web", webDone)}
		}), want: []string{"fic in place rg/web-identity " + subject, "sa in place apps/web-sa=ward-client-web", "template in place Deployment/apps/web"}},
		{name: "a credential of another issuer or audience does not count", in: with(func(in *Input) {
			in.Ward[0].Credentials = []Credential{
				{Name: "slash", Issuer: strings.TrimSuffix(testIssuer, "/"), Subject: subject, Audiences: []string{Audience}},
				{Name: "aud", Issuer: testIssuer, Subject: subject, Audiences: []string{"api://other"}},
			}
		}), want: []string{ficPending, saPending, tplPending}},
		{name: "the credential's name is taken by another credential", in: with(func(in *Input) {
			in.Ward[0].Credentials = []Credential{{Name: CredentialName("apps", "web-sa", testIssuer), Issuer: testIssuer, Subject: "system:serviceaccount:apps:other", Audiences: []string{Audience}}}
		}), want: []string{"issue credentialNameTaken ServiceAccount/apps/web-sa"}},
		{name: "identity found by client ID", in: with(func(in *Input) {
			in.Identities[0].ResourceID = "/subscriptions/" + azureSub + "/resourcegroups/prod/providers/Microsoft.ManagedIdentity/userAssignedIdentities/other"
			in.Identities[0].ClientID = "ward-client-web"
		}), want: []string{ficPending, saPending, tplPending}},
		{name: "identity found by group and name in Ward's subscription; the annotation gets Ward's client ID", in: with(func(in *Input) {
			in.Identities[0].ResourceID = "/subscriptions/" + azureSub + "/resourceGroups/RG/providers/Microsoft.ManagedIdentity/userAssignedIdentities/Web-Identity"
		}), want: []string{ficPending, saPending, tplPending}},
		{name: "identity not in Ward", in: with(func(in *Input) {
			in.Ward = nil
		}), want: []string{"issue identityNotInWard AzureIdentity/apps/web-id"}, msg: "ward identity create -g rg -n web-identity"},
		{name: "default service account, named or empty", in: with(func(in *Input) {
			in.Pods = []Pod{pod("apps", "web-1", "", "web", web), pod("apps", "solo", "default", "web", nil)}
		}), want: []string{"issue defaultServiceAccount Deployment/apps/web", "issue defaultServiceAccount Pod/apps/solo"}, msg: "kubectl create serviceaccount -n apps NAME"},
		{name: "one service account, two identities", in: with(func(in *Input) {
			in.Identities = append(in.Identities, azureID("apps", "db-id", "rg", "db-identity", ""))
			in.Bindings = append(in.Bindings, AzureIdentityBinding{Namespace: "apps", Name: "db-binding", AzureIdentity: "db-id", Selector: "db"})
			in.Ward = append(in.Ward, wardID("rg", "db-identity", "ward-client-db"))
			in.Pods = append(in.Pods, pod("apps", "db-1", "web-sa", "db", deployment("apps", "db", nil)))
		}), want: []string{"issue sharedServiceAccount ServiceAccount/apps/web-sa"}, msg: "db-identity (bindings apps/db-binding); web-identity (bindings apps/web-binding)"},
		{name: "two bindings with one selector give a pod two identities", in: with(func(in *Input) {
			in.Identities = append(in.Identities, azureID("apps", "db-id", "rg", "db-identity", ""))
			in.Bindings = append(in.Bindings, AzureIdentityBinding{Namespace: "apps", Name: "db-binding", AzureIdentity: "db-id", Selector: "web"})
			in.Ward = append(in.Ward, wardID("rg", "db-identity", "ward-client-db"))
		}), want: []string{"issue sharedServiceAccount ServiceAccount/apps/web-sa"}},
		{name: "one identity, two service accounts: two credentials", in: with(func(in *Input) {
			in.Pods = append(in.Pods, pod("apps", "api-1", "api-sa", "web", deployment("apps", "api", nil)))
			in.ServiceAccounts = append(in.ServiceAccounts, sa("apps", "api-sa", nil))
		}), want: []string{ficPending, "fic pending rg/web-identity system:serviceaccount:apps:api-sa", saPending, "sa pending apps/api-sa=ward-client-web",
			tplPending, "template pending Deployment/apps/api"}},
		{name: "service principal with a secret", in: with(func(in *Input) {
			in.Identities[0].Type = TypeServicePrincipal
		}), want: []string{"issue servicePrincipal AzureIdentity/apps/web-id"}, msg: "service principal with a secret"},
		{name: "service principal with a certificate", in: with(func(in *Input) {
			in.Identities[0].Type = TypeServicePrincipalCert
		}), want: []string{"issue servicePrincipal AzureIdentity/apps/web-id"}, msg: "certificate"},
		{name: "unknown type", in: with(func(in *Input) {
			in.Identities[0].Type = 7
		}), want: []string{"issue invalidAzureIdentity AzureIdentity/apps/web-id"}},
		{name: "undecodable type", in: with(func(in *Input) {
			in.Identities[0].Type, in.Identities[0].Invalid = typeUnknown, "spec.type x is not a number"
		}), want: []string{"issue invalidAzureIdentity AzureIdentity/apps/web-id"}, msg: "spec.type x is not a number"},
		{name: "exception: an excepted pod used the node's identity", in: with(func(in *Input) {
			in.Pods[1].Labels["team"] = "Infra"
			in.Exceptions = []AzurePodIdentityException{{Namespace: "apps", Name: "infra", PodLabels: map[string]string{"team": "infra", "other": "x"}}}
		}), want: []string{ficPending, saPending, tplPending, "issue exception AzurePodIdentityException/apps/infra"}, msg: "lets pods apps/web-2 reach the node's IMDS"},
		{name: "exception of another namespace does not apply", in: with(func(in *Input) {
			in.Pods[1].Labels["team"] = "infra"
			in.Exceptions = []AzurePodIdentityException{{Namespace: "kube-system", Name: "infra", PodLabels: map[string]string{"team": "infra"}}}
		}), want: []string{ficPending, saPending, tplPending, "issue exception AzurePodIdentityException/kube-system/infra"}, msg: "matches no pod now"},
		{name: "exception covering every pod: nothing to migrate", in: with(func(in *Input) {
			in.Exceptions = []AzurePodIdentityException{{Namespace: "apps", Name: "all", PodLabels: map[string]string{BindingLabel: "WEB"}}}
		}), want: []string{"issue exception AzurePodIdentityException/apps/all"}, msg: "ward agent"},
		{name: "binding names a missing AzureIdentity", in: with(func(in *Input) {
			in.Bindings[0].AzureIdentity = "gone"
		}), want: []string{"issue missingAzureIdentity AzureIdentityBinding/apps/web-binding"}},
		{name: "bindings match pods of every namespace by default", in: with(func(in *Input) {
			in.Pods = append(in.Pods, pod("other", "w", "w-sa", "web", deployment("other", "w", nil)))
			in.ServiceAccounts = append(in.ServiceAccounts, sa("other", "w-sa", nil))
		}), want: []string{ficPending, "fic pending rg/web-identity system:serviceaccount:other:w-sa", saPending, "sa pending other/w-sa=ward-client-web",
			tplPending, "template pending Deployment/other/w"}},
		{name: "a namespaced identity matches its namespace only", in: with(func(in *Input) {
			in.Identities[0].Namespaced = true
			in.Pods = append(in.Pods, pod("other", "w", "w-sa", "web", deployment("other", "w", nil)))
		}), want: []string{ficPending, saPending, tplPending, "issue noBinding Deployment/other/w"}},
		{name: "forceNamespaced", in: with(func(in *Input) {
			in.ForceNamespaced = true
			in.Pods = append(in.Pods, pod("other", "w", "w-sa", "web", nil))
		}), want: []string{ficPending, saPending, tplPending, "issue noBinding Pod/other/w"}},
		{name: "bare pod: credential and annotation, then recreate it", in: with(func(in *Input) {
			in.Pods = []Pod{pod("apps", "solo", "web-sa", "web", nil)}
		}), want: []string{ficPending, saPending, "issue barePod Pod/apps/solo"}, msg: "recreate the pod"},
		{name: "bare pod already labelled", in: with(func(in *Input) {
			p := pod("apps", "solo", "web-sa", "web", nil)
			p.Labels[UseLabel] = "true"
			in.Pods = []Pod{p}
		}), want: []string{ficPending, saPending}},
		{name: "a Job's template cannot be changed", in: with(func(in *Input) {
			in.Pods = []Pod{pod("apps", "job-x", "web-sa", "web", &Workload{Kind: "Job", Namespace: "apps", Name: "once", Unpatchable: "a Job's pod template cannot be changed"})}
		}), want: []string{ficPending, saPending, "issue unpatchableOwner Job/apps/once"}},
		{name: "service account annotated for another identity", in: with(func(in *Input) {
			in.ServiceAccounts[0].Annotations = map[string]string{"azure.workload.identity/client-id": "someone-else"}
		}), want: []string{"issue clientIdAnnotationConflict ServiceAccount/apps/web-sa"}},
		{name: "service account missing", in: with(func(in *Input) {
			in.ServiceAccounts = nil
		}), want: []string{"issue missingServiceAccount ServiceAccount/apps/web-sa"}, msg: "kubectl create serviceaccount -n apps web-sa"},
		{name: "labelled pod no binding selects", in: with(func(in *Input) {
			in.Pods = append(in.Pods, pod("apps", "stray", "web-sa", "nobody", nil))
		}), want: []string{ficPending, saPending, tplPending, "issue noBinding Pod/apps/stray"}},
		{name: "no webhook acts on the label", in: with(func(in *Input) {
			in.NoWebhook = true
		}), want: []string{ficPending, saPending, tplPending, "issue noWebhook MutatingWebhookConfiguration"}, msg: "ward aks show-install"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := NewPlan(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if got := summary(p); !slices.Equal(got, want) {
				t.Errorf("plan:\n got  %q\n want %q", got, want)
			}
			if tc.msg != "" && !slices.ContainsFunc(p.Issues, func(is Issue) bool {
				return strings.Contains(is.Message, tc.msg) || strings.Contains(is.Fix, tc.msg)
			}) {
				t.Errorf("no issue says %q: %+v", tc.msg, p.Issues)
			}
			// Planning again from the same input gives the same plan.
			if again, _ := NewPlan(tc.in); !slices.Equal(summary(again), summary(p)) {
				t.Errorf("second plan differs: %q", summary(again))
			}
			for _, s := range p.FederatedCredentials {
				if s.Issuer != testIssuer || s.Audience != "api://AzureADTokenExchange" {
					t.Errorf("credential %+v: want issuer %s and the token exchange audience", s, testIssuer)
				}
			}
		})
	}
}

func TestNewPlanBindingsListPodsAndServiceAccounts(t *testing.T) {
	web := deployment("apps", "web", nil)
	excepted := pod("apps", "web-2", "web-sa", "web", web)
	excepted.Labels["team"] = "infra"
	p, err := NewPlan(Input{Issuer: testIssuer,
		Exceptions:      []AzurePodIdentityException{{Namespace: "apps", Name: "infra", PodLabels: map[string]string{"team": "infra"}}},
		Identities:      []AzureIdentity{azureID("apps", "web-id", "rg", "web-identity", "")},
		Bindings:        []AzureIdentityBinding{{Namespace: "apps", Name: "b", AzureIdentity: "web-id", Selector: "web"}},
		Pods:            []Pod{excepted, pod("apps", "web-1", "web-sa", "web", web), pod("apps", "d", "", "web", nil)},
		ServiceAccounts: []ServiceAccount{sa("apps", "web-sa", nil)},
		Ward:            []WardIdentity{wardID("rg", "web-identity", "cid")},
	})
	if err != nil {
		t.Fatal(err)
	}
	b := p.Bindings[0]
	var pods []string
	for _, p := range b.Pods {
		pods = append(pods, fmt.Sprintf("%s:%s:%s:%v", p.Name, p.ServiceAccount, p.Owner, p.Excepted))
	}
	if want := []string{"d:default::false", "web-1:web-sa:Deployment/apps/web:false", "web-2:web-sa:Deployment/apps/web:true"}; !slices.Equal(pods, want) {
		t.Errorf("pods %q, want %q", pods, want)
	}
	if !slices.Equal(b.ServiceAccounts, []string{"apps/web-sa"}) || b.ClientID != "cid" || !strings.HasSuffix(b.Identity, "/web-identity") {
		t.Errorf("binding %+v", b)
	}
	if p.Pending() != 3 || !strings.Contains(p.Summary(false), "3 change(s) to make") {
		t.Errorf("pending %d, summary %q", p.Pending(), p.Summary(false))
	}
}

func TestNewPlanNeedsIssuer(t *testing.T) {
	if _, err := NewPlan(Input{}); !errors.Is(err, ErrNoIssuer) {
		t.Fatalf("err = %v, want ErrNoIssuer", err)
	}
}

func TestCredentialName(t *testing.T) {
	valid := regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_-]{2,119}$`)
	long := strings.Repeat("s", 253)
	cases := []struct{ ns, sa, issuer string }{
		{"apps", "web", testIssuer},
		{"apps", "web", "https://other.example/"},
		{"apps", "web.v2", testIssuer},
		{"a-b", "c", testIssuer},
		{"a", "b-c", testIssuer},
		{strings.Repeat("n", 63), long, testIssuer},
		{strings.Repeat("n", 63), long + "x", testIssuer},
	}
	seen := map[string]bool{}
	for _, tc := range cases {
		n := CredentialName(tc.ns, tc.sa, tc.issuer)
		if !valid.MatchString(n) {
			t.Errorf("CredentialName(%q, %q) = %q: not a valid credential name", tc.ns, tc.sa, n)
		}
		if seen[n] {
			t.Errorf("CredentialName(%q, %q, %q) = %q twice", tc.ns, tc.sa, tc.issuer, n)
		}
		seen[n] = true
	}
	if a, b := CredentialName("apps", "web", testIssuer), CredentialName("apps", "web", testIssuer); a != b {
		t.Errorf("not stable: %q, %q", a, b)
	}
}

func TestDecode(t *testing.T) {
	obj := func(spec map[string]any, ann map[string]any) map[string]any {
		return map[string]any{"metadata": map[string]any{"namespace": "ns", "name": "x", "annotations": ann}, "spec": spec}
	}
	cases := []struct {
		name    string
		obj     map[string]any
		want    AzureIdentity
		wantErr string
	}{
		{"documented spelling", obj(map[string]any{"type": int64(0), "resourceID": "/r", "clientID": "c"}, nil),
			AzureIdentity{Namespace: "ns", Name: "x", Type: 0, ResourceID: "/r", ClientID: "c"}, ""},
		{"charts' spelling, JSON float", obj(map[string]any{"Type": float64(1), "ResourceID": "/r", "ClientId": "c"}, nil),
			AzureIdentity{Namespace: "ns", Name: "x", Type: 1, ResourceID: "/r", ClientID: "c"}, ""},
		{"Go tags' spelling, type as a string", obj(map[string]any{"type": "2", "resourceid": "/r", "clientid": "c"}, nil),
			AzureIdentity{Namespace: "ns", Name: "x", Type: 2, ResourceID: "/r", ClientID: "c"}, ""},
		{"no type is a user-assigned identity; namespaced", obj(map[string]any{"resourceID": "/r"}, map[string]any{"aadpodidentity.k8s.io/Behavior": "namespaced"}),
			AzureIdentity{Namespace: "ns", Name: "x", Type: 0, ResourceID: "/r", Namespaced: true}, ""},
		{"type not a number", obj(map[string]any{"type": "msi"}, nil),
			AzureIdentity{Namespace: "ns", Name: "x", Type: typeUnknown, Invalid: "spec.type msi is not a number"}, "spec.type msi"},
		{"type a fraction", obj(map[string]any{"type": 0.5}, nil),
			AzureIdentity{Namespace: "ns", Name: "x", Type: typeUnknown, Invalid: "spec.type 0.5 is not a whole number"}, "whole"},
		{"no spec", map[string]any{"metadata": map[string]any{"name": "x"}}, AzureIdentity{Name: "x"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeIdentity(tc.obj)
			if (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("err = %v, want %q", err, tc.wantErr)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
	b := DecodeBinding(map[string]any{"metadata": map[string]any{"namespace": "ns", "name": "b"}, "spec": map[string]any{"AzureIdentity": "id", "Selector": "sel", "weight": int64(1)}})
	if b != (AzureIdentityBinding{Namespace: "ns", Name: "b", AzureIdentity: "id", Selector: "sel"}) {
		t.Errorf("binding %+v", b)
	}
	ex := DecodeException(map[string]any{"metadata": map[string]any{"namespace": "ns", "name": "e"}, "spec": map[string]any{"podLabels": map[string]any{"app": "x"}}})
	if ex.Namespace != "ns" || ex.PodLabels["app"] != "x" || len(ex.PodLabels) != 1 {
		t.Errorf("exception %+v", ex)
	}
}
