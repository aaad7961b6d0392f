package podidmigrate

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/ward-id/ward/internal/resourceid"
	"github.com/ward-id/ward/internal/shellquote"
)

// States of a step.
const (
	// StatePending: the step is to be made (a dry run shows it).
	StatePending = "pending"
	// StateInPlace: Ward or the cluster already has it.
	StateInPlace = "in place"
	// StateDone: this Apply made it.
	StateDone = "done"
)

// Kinds of Issue: what cannot be migrated as is.
const (
	IssueDefaultServiceAccount = "defaultServiceAccount"
	IssueSharedServiceAccount  = "sharedServiceAccount"
	IssueServicePrincipal      = "servicePrincipal"
	IssueException             = "exception"
	IssueUnknownIdentity       = "identityNotInWard"
	IssueMissingIdentity       = "missingAzureIdentity"
	IssueMissingServiceAccount = "missingServiceAccount"
	IssueAnnotationConflict    = "clientIdAnnotationConflict"
	IssueBarePod               = "barePod"
	IssueUnpatchableOwner      = "unpatchableOwner"
	IssueNoBinding             = "noBinding"
	IssueNoWebhook             = "noWebhook"
	IssueInvalidIdentity       = "invalidAzureIdentity"
	IssueCredentialNameTaken   = "credentialNameTaken"
)

// Plan is what a migration does, step by step, and what it cannot do.
type Plan struct {
	Issuer               string               `json:"issuer"`
	Bindings             []BindingPlan        `json:"bindings"`
	FederatedCredentials []CredentialStep     `json:"federatedCredentials"`
	ServiceAccounts      []ServiceAccountStep `json:"serviceAccounts"`
	Workloads            []WorkloadStep       `json:"workloads"`
	Issues               []Issue              `json:"issues"`
}

// BindingPlan is one AzureIdentityBinding: the pods its selector picks and
// the service accounts that carry its identity after the migration.
type BindingPlan struct {
	Namespace     string `json:"namespace"`
	Name          string `json:"name"`
	Selector      string `json:"selector"`
	AzureIdentity string `json:"azureIdentity"`
	// Identity is the Ward identity's resource ID, ClientID its client ID
	// (Ward's, which the service account annotation carries); empty when
	// the AzureIdentity has no Ward identity.
	Identity        string   `json:"identity,omitempty"`
	ClientID        string   `json:"clientId,omitempty"`
	Pods            []PodRef `json:"pods"`
	ServiceAccounts []string `json:"serviceAccounts"`
}

// PodRef is a pod a binding selects.
type PodRef struct {
	Namespace      string `json:"namespace"`
	Name           string `json:"name"`
	ServiceAccount string `json:"serviceAccount"`
	// Owner is Kind/namespace/name of the object owning its template.
	Owner string `json:"owner,omitempty"`
	// Excepted: an AzurePodIdentityException matches the pod, so it used
	// the node's identity, not the binding's, and is not migrated.
	Excepted bool `json:"excepted,omitempty"`
}

// CredentialStep is a federated credential on a Ward identity.
type CredentialStep struct {
	Identity      string `json:"identity"`
	IdentityName  string `json:"identityName"`
	ResourceGroup string `json:"resourceGroup"`
	Name          string `json:"name"`
	Issuer        string `json:"issuer"`
	Subject       string `json:"subject"`
	Audience      string `json:"audience"`
	// Existing names the credential that already matches, when in place.
	Existing string `json:"existing,omitempty"`
	State    string `json:"state"`
}

// ServiceAccountStep is the client-id annotation on a service account.
type ServiceAccountStep struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	ClientID  string `json:"clientId"`
	State     string `json:"state"`
}

// WorkloadStep is the azure.workload.identity/use label on a pod template.
type WorkloadStep struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	State     string `json:"state"`
}

// Issue is something the migration cannot do as is, and how to do it.
type Issue struct {
	Kind    string `json:"kind"`
	Object  string `json:"object"`
	Message string `json:"message"`
	Fix     string `json:"fix,omitempty"`
}

// Pending is the number of steps still to be made.
func (p *Plan) Pending() int {
	n := 0
	for _, s := range p.FederatedCredentials {
		n += b2i(s.State == StatePending)
	}
	for _, s := range p.ServiceAccounts {
		n += b2i(s.State == StatePending)
	}
	for _, s := range p.Workloads {
		n += b2i(s.State == StatePending)
	}
	return n
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// ErrNoIssuer is returned by NewPlan without an issuer.
var ErrNoIssuer = errors.New("no issuer: the federated credentials need the cluster's service-account issuer")

// NewPlan computes the migration of in. It is a pure function of its
// input: the same cluster and Ward give the same plan, and a cluster
// already migrated gives a plan whose steps are all in place.
func NewPlan(in Input) (*Plan, error) {
	if in.Issuer == "" {
		return nil, ErrNoIssuer
	}
	p := &Plan{Issuer: in.Issuer, Bindings: []BindingPlan{}, FederatedCredentials: []CredentialStep{},
		ServiceAccounts: []ServiceAccountStep{}, Workloads: []WorkloadStep{}, Issues: []Issue{}}
	issued := map[string]bool{}
	issue := func(kind, object, msg, fix string) {
		if key := kind + "\x00" + object; !issued[key] {
			issued[key] = true
			p.Issues = append(p.Issues, Issue{Kind: kind, Object: object, Message: msg, Fix: fix})
		}
	}

	pods := slices.Clone(in.Pods)
	sort.Slice(pods, func(i, j int) bool {
		return nsName(pods[i].Namespace, pods[i].Name) < nsName(pods[j].Namespace, pods[j].Name)
	})

	// Exceptions first: their pods bypassed aad-pod-identity, so they used
	// the node's identity even when they carry a binding label.
	excepted := map[string]bool{}
	exceptions := slices.Clone(in.Exceptions)
	sort.Slice(exceptions, func(i, j int) bool {
		return nsName(exceptions[i].Namespace, exceptions[i].Name) < nsName(exceptions[j].Namespace, exceptions[j].Name)
	})
	for _, ex := range exceptions {
		var matched []string
		for _, pod := range pods {
			if pod.Namespace == ex.Namespace && exceptionMatches(ex, pod.Labels) {
				excepted[nsName(pod.Namespace, pod.Name)] = true
				matched = append(matched, podName(pod))
			}
		}
		what := "matches no pod now"
		if len(matched) > 0 {
			what = "lets pods " + strings.Join(matched, ", ") + " reach the node's IMDS"
		}
		issue(IssueException, "AzurePodIdentityException/"+nsName(ex.Namespace, ex.Name),
			fmt.Sprintf("%s (labels %s): a pod it matches bypasses aad-pod-identity and gets the node's identity, which workload identity does not provide", what, labelList(ex.PodLabels)),
			"run Ward's node agent on the nodes (ward agent; 'ward aks show-install' prints its manifests) so these pods get the node's identity from IMDS, or give them a service account and an identity of their own")
	}

	if in.NoWebhook {
		issue(IssueNoWebhook, "MutatingWebhookConfiguration", fmt.Sprintf("no mutating webhook of the cluster selects pods labelled %s=%s, so the label will not inject the token and AZURE_* variables", UseLabel, UseValue),
			"install Ward's webhook before relabelling (ward aks show-install -n CLUSTER -g GROUP | kubectl apply -f -)")
	}

	identities := map[string]AzureIdentity{}
	for _, id := range in.Identities {
		identities[nsName(id.Namespace, id.Name)] = id
	}
	ward := newWardIndex(in.Ward)

	// resolve finds the Ward identity of an AzureIdentity, or says why
	// there is none (once per identity).
	resolve := func(id AzureIdentity) *WardIdentity {
		obj := "AzureIdentity/" + nsName(id.Namespace, id.Name)
		if id.Invalid != "" {
			issue(IssueInvalidIdentity, obj, id.Invalid, "fix the object (spec.type is 0 for a user-assigned identity)")
			return nil
		}
		switch id.Type {
		case TypeUserAssignedMSI:
		case TypeServicePrincipal, TypeServicePrincipalCert:
			issue(IssueServicePrincipal, obj,
				fmt.Sprintf("type %d is a service principal with a %s (client ID %s): workload identity federates a managed identity with the cluster's service accounts, not a secret", id.Type, map[int]string{1: "secret", 2: "certificate"}[id.Type], id.ClientID),
				"create a user-assigned identity in Ward with the roles the service principal holds (ward identity create), point the AzureIdentity at it as type 0, and run the migration again")
			return nil
		default:
			issue(IssueInvalidIdentity, obj, fmt.Sprintf("spec.type %d is not one aad-pod-identity knows (0, 1 or 2)", id.Type), "fix spec.type")
			return nil
		}
		w := ward.find(id)
		if w == nil {
			fix := "create it in Ward (ward identity create -g GROUP -n NAME) and point the AzureIdentity's resourceID at it"
			if rid, err := resourceid.Parse(id.ResourceID); err == nil && rid.ResourceGroup != "" && len(rid.Types) == 1 {
				fix = "create it in Ward: " + shellquote.Join("ward", "identity", "create", "-g", rid.ResourceGroup, "-n", rid.Types[0].Name)
			}
			issue(IssueUnknownIdentity, obj, fmt.Sprintf("Ward holds no identity with resource ID %q or client ID %q (looked up by ID, client ID, then resource group and name)", id.ResourceID, id.ClientID), fix)
		}
		return w
	}

	// uses gathers, per service account, the identities its pods use and
	// the pods themselves.
	type use struct {
		identities map[string]*WardIdentity
		bindings   map[string][]string // identity ID → bindings
		pods       []Pod
	}
	uses := map[string]*use{}
	bound := map[string]bool{}

	bindings := slices.Clone(in.Bindings)
	sort.Slice(bindings, func(i, j int) bool {
		return nsName(bindings[i].Namespace, bindings[i].Name) < nsName(bindings[j].Namespace, bindings[j].Name)
	})
	for _, b := range bindings {
		bp := BindingPlan{Namespace: b.Namespace, Name: b.Name, Selector: b.Selector, AzureIdentity: b.AzureIdentity, Pods: []PodRef{}, ServiceAccounts: []string{}}
		bindingObj := "AzureIdentityBinding/" + nsName(b.Namespace, b.Name)
		id, ok := identities[nsName(b.Namespace, b.AzureIdentity)]
		var w *WardIdentity
		if !ok {
			issue(IssueMissingIdentity, bindingObj, fmt.Sprintf("names AzureIdentity %q, which namespace %s does not hold", b.AzureIdentity, b.Namespace),
				"create the AzureIdentity or delete the binding")
		} else {
			w = resolve(id)
		}
		if w != nil {
			bp.Identity, bp.ClientID = w.ID, w.ClientID
		}
		namespaced := in.ForceNamespaced || (ok && id.Namespaced)
		for _, pod := range pods {
			if b.Selector == "" || pod.Labels[BindingLabel] != b.Selector || (namespaced && pod.Namespace != b.Namespace) {
				continue
			}
			key := nsName(pod.Namespace, pod.Name)
			bound[key] = true
			ref := PodRef{Namespace: pod.Namespace, Name: pod.Name, ServiceAccount: serviceAccountOf(pod)}
			if pod.Owner != nil {
				ref.Owner = pod.Owner.Ref()
			}
			ref.Excepted = excepted[key]
			bp.Pods = append(bp.Pods, ref)
			if ref.Excepted || w == nil {
				continue
			}
			if ref.ServiceAccount == defaultServiceAccountName {
				obj, where := podObject(pod)
				issue(IssueDefaultServiceAccount, obj,
					fmt.Sprintf("runs as the default service account of namespace %s: annotating it would give identity %s to every pod of the namespace that asks for workload identity", pod.Namespace, w.Name),
					fmt.Sprintf("create a service account for it (%s NAME), set serviceAccountName in %s, and run the migration again", shellquote.Join("kubectl", "create", "serviceaccount", "-n", pod.Namespace), where))
				continue
			}
			sa := nsName(pod.Namespace, ref.ServiceAccount)
			u := uses[sa]
			if u == nil {
				u = &use{identities: map[string]*WardIdentity{}, bindings: map[string][]string{}}
				uses[sa] = u
			}
			u.identities[w.ID] = w
			if !slices.Contains(u.bindings[w.ID], nsName(b.Namespace, b.Name)) {
				u.bindings[w.ID] = append(u.bindings[w.ID], nsName(b.Namespace, b.Name))
			}
			if !slices.ContainsFunc(u.pods, func(q Pod) bool { return q.Namespace == pod.Namespace && q.Name == pod.Name }) {
				u.pods = append(u.pods, pod)
			}
		}
		p.Bindings = append(p.Bindings, bp)
	}

	for _, pod := range pods {
		key := nsName(pod.Namespace, pod.Name)
		if sel, ok := pod.Labels[BindingLabel]; ok && !bound[key] && !excepted[key] {
			obj, _ := podObject(pod)
			issue(IssueNoBinding, obj, fmt.Sprintf("has label %s=%s but no AzureIdentityBinding selects it, so it had no identity", BindingLabel, sel),
				"nothing to migrate; remove the label, or bind an identity and run the migration again")
		}
	}

	accounts := map[string]ServiceAccount{}
	for _, sa := range in.ServiceAccounts {
		accounts[nsName(sa.Namespace, sa.Name)] = sa
	}
	saNames := make([]string, 0, len(uses))
	for k := range uses {
		saNames = append(saNames, k)
	}
	sort.Strings(saNames)
	migrated := map[string]bool{} // service accounts with steps
	workloads := map[string]bool{}
	for _, key := range saNames {
		u := uses[key]
		ns, name, _ := strings.Cut(key, "/")
		obj := "ServiceAccount/" + key
		if len(u.identities) > 1 {
			var ids []string
			for _, w := range u.identities {
				ids = append(ids, fmt.Sprintf("%s (bindings %s)", w.Name, strings.Join(u.bindings[w.ID], ", ")))
			}
			sort.Strings(ids)
			issue(IssueSharedServiceAccount, obj,
				fmt.Sprintf("its pods use %d identities: %s; a service account names one client ID", len(ids), strings.Join(ids, "; ")),
				"give each workload its own service account and run the migration again (or annotate the pod templates with azure.workload.identity/client-id, which Ward's webhook reads, accepting that every pod of this service account can then use each identity)")
			continue
		}
		var w *WardIdentity
		for _, x := range u.identities {
			w = x
		}
		sa, ok := accounts[key]
		if !ok {
			issue(IssueMissingServiceAccount, obj, "its pods run as it but it does not exist", shellquote.Join("kubectl", "create", "serviceaccount", "-n", ns, name))
			continue
		}
		if have := sa.Annotations[ClientIDAnnotation]; have != "" && have != w.ClientID {
			issue(IssueAnnotationConflict, obj,
				fmt.Sprintf("already has %s=%s, but its pods used identity %s (client ID %s)", ClientIDAnnotation, have, w.Name, w.ClientID),
				"decide which identity the service account stands for, set the annotation, and run the migration again")
			continue
		}
		migrated[key] = true
		subject := "system:serviceaccount:" + ns + ":" + name
		step := CredentialStep{Identity: w.ID, IdentityName: w.Name, ResourceGroup: w.ResourceGroup,
			Name: CredentialName(ns, name, in.Issuer), Issuer: in.Issuer, Subject: subject, Audience: Audience, State: StatePending}
		taken := false
		for _, c := range w.Credentials {
			if c.Issuer == in.Issuer && c.Subject == subject && slices.Contains(c.Audiences, Audience) {
				step.State, step.Existing = StateInPlace, c.Name
				break
			}
			taken = taken || strings.EqualFold(c.Name, step.Name)
		}
		if taken && step.State == StatePending {
			// A PUT would overwrite someone's credential.
			issue(IssueCredentialNameTaken, obj,
				fmt.Sprintf("identity %s already has a federated credential named %s that trusts something else", w.Name, step.Name),
				"rename or delete that credential, and run the migration again")
			continue
		}
		p.FederatedCredentials = append(p.FederatedCredentials, step)
		sas := ServiceAccountStep{Namespace: ns, Name: name, ClientID: w.ClientID, State: StatePending}
		if sa.Annotations[ClientIDAnnotation] == w.ClientID {
			sas.State = StateInPlace
		}
		p.ServiceAccounts = append(p.ServiceAccounts, sas)

		for _, pod := range u.pods {
			switch o := pod.Owner; {
			case o == nil:
				if pod.Labels[UseLabel] == UseValue {
					continue
				}
				obj, _ := podObject(pod)
				issue(IssueBarePod, obj, "has no owner whose template the migration could label; the webhook acts when a pod is created",
					fmt.Sprintf("recreate the pod with label %s: %q (after --apply has annotated its service account)", UseLabel, UseValue))
			case o.Unpatchable != "":
				issue(IssueUnpatchableOwner, o.Kind+"/"+nsName(o.Namespace, o.Name), o.Unpatchable,
					fmt.Sprintf("add label %s: %q to its pod template yourself", UseLabel, UseValue))
			case !workloads[o.Ref()]:
				workloads[o.Ref()] = true
				st := WorkloadStep{Kind: o.Kind, Namespace: o.Namespace, Name: o.Name, State: StatePending}
				if o.TemplateLabels[UseLabel] == UseValue {
					st.State = StateInPlace
				}
				p.Workloads = append(p.Workloads, st)
			}
		}
	}
	for i := range p.Bindings {
		b := &p.Bindings[i]
		for _, pod := range b.Pods {
			if key := nsName(pod.Namespace, pod.ServiceAccount); migrated[key] && !slices.Contains(b.ServiceAccounts, key) {
				b.ServiceAccounts = append(b.ServiceAccounts, key)
			}
		}
	}
	sort.Slice(p.Workloads, func(i, j int) bool {
		a, b := p.Workloads[i], p.Workloads[j]
		return a.Kind+"/"+nsName(a.Namespace, a.Name) < b.Kind+"/"+nsName(b.Namespace, b.Name)
	})
	return p, nil
}

// CredentialName is the name of the federated credential the migration
// creates for a service account: readable, within ARM's rule (3 to 120
// letters, digits, '-' and '_'), and distinct per (issuer, namespace,
// service account) through a hash, so that two clusters' credentials on
// one identity do not collide.
func CredentialName(namespace, serviceAccount, issuer string) string {
	sum := sha256.Sum256([]byte(issuer + "\n" + namespace + "\n" + serviceAccount))
	base := "podid-" + namespace + "_" + strings.ReplaceAll(serviceAccount, ".", "_")
	if max := 120 - 9; len(base) > max {
		base = base[:max]
	}
	return base + "-" + hex.EncodeToString(sum[:4])
}

// exceptionMatches is aad-pod-identity's rule: a pod is excepted when any
// one of the exception's labels is on it, the value compared ignoring case.
func exceptionMatches(ex AzurePodIdentityException, labels map[string]string) bool {
	for k, v := range ex.PodLabels {
		if have, ok := labels[k]; ok && strings.EqualFold(have, v) {
			return true
		}
	}
	return false
}

func serviceAccountOf(p Pod) string {
	if p.ServiceAccount == "" {
		return defaultServiceAccountName
	}
	return p.ServiceAccount
}

// podObject names what a user changes for a pod: its owner, or the pod.
func podObject(p Pod) (object, where string) {
	if p.Owner != nil {
		return p.Owner.Kind + "/" + nsName(p.Owner.Namespace, p.Owner.Name), p.Owner.Kind + " " + nsName(p.Owner.Namespace, p.Owner.Name)
	}
	return "Pod/" + nsName(p.Namespace, p.Name), "the pod"
}

func podName(p Pod) string { return nsName(p.Namespace, p.Name) }

func nsName(ns, name string) string { return ns + "/" + name }

func labelList(m map[string]string) string {
	var kv []string
	for k, v := range m {
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	return strings.Join(kv, ",")
}

// wardIndex finds Ward identities by resource ID, client ID, and resource
// group and name.
type wardIndex struct {
	byID, byClientID, byGroupName map[string]*WardIdentity
}

func newWardIndex(ids []WardIdentity) wardIndex {
	ix := wardIndex{byID: map[string]*WardIdentity{}, byClientID: map[string]*WardIdentity{}, byGroupName: map[string]*WardIdentity{}}
	for i := range ids {
		w := &ids[i]
		ix.byID[resourceid.Key(w.ID)] = w
		ix.byClientID[strings.ToLower(w.ClientID)] = w
		ix.byGroupName[strings.ToLower(w.ResourceGroup+"/"+w.Name)] = w
	}
	return ix
}

// find matches an AzureIdentity with a Ward identity: by resource ID (the
// same subscription), by client ID, then by resource group and name, since
// an identity recreated in Ward lives in Ward's subscription and has a
// client ID of Ward's.
func (ix wardIndex) find(id AzureIdentity) *WardIdentity {
	if w := ix.byID[resourceid.Key(id.ResourceID)]; w != nil && id.ResourceID != "" {
		return w
	}
	if w := ix.byClientID[strings.ToLower(id.ClientID)]; w != nil && id.ClientID != "" {
		return w
	}
	rid, err := resourceid.Parse(id.ResourceID)
	if err != nil || rid.ResourceGroup == "" || len(rid.Types) != 1 || !rid.TypeMatches("Microsoft.ManagedIdentity/userAssignedIdentities") {
		return nil
	}
	return ix.byGroupName[strings.ToLower(rid.ResourceGroup+"/"+rid.Types[0].Name)]
}
