package podidmigrate

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
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
func (p *Plan) Pending() int { return p.count(StatePending) }

// count is the number of steps in state, of every kind.
func (p *Plan) count(state string) int {
	n := 0
	for _, s := range p.FederatedCredentials {
		n += b2i(s.State == state)
	}
	for _, s := range p.ServiceAccounts {
		n += b2i(s.State == state)
	}
	for _, s := range p.Workloads {
		n += b2i(s.State == state)
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
//
// The steps run in this order because the issues are listed in the order
// they are found, and a later step reads what an earlier one gathered:
// the exceptions decide which pods the bindings migrate, the bindings
// gather what each service account's pods use, and the service accounts
// decide which bindings end up with a migrated service account.
func NewPlan(in Input) (*Plan, error) {
	if in.Issuer == "" {
		return nil, ErrNoIssuer
	}
	pl := newPlanner(in)
	pl.planExceptions()
	if in.NoWebhook {
		pl.issue(IssueNoWebhook, "MutatingWebhookConfiguration", fmt.Sprintf("no mutating webhook of the cluster selects pods labelled %s=%s, so the label will not inject the token and AZURE_* variables", UseLabel, UseValue),
			"install Ward's webhook before relabelling (ward aks show-install -n CLUSTER -g GROUP | kubectl apply -f -)")
	}
	for _, b := range sortedByName(in.Bindings, func(b AzureIdentityBinding) string { return nsName(b.Namespace, b.Name) }) {
		pl.p.Bindings = append(pl.p.Bindings, pl.planBinding(b))
	}
	pl.planUnboundPods()
	pl.planServiceAccounts()
	pl.listMigratedServiceAccounts()
	sort.Slice(pl.p.Workloads, func(i, j int) bool {
		a, b := pl.p.Workloads[i], pl.p.Workloads[j]
		return a.Kind+"/"+nsName(a.Namespace, a.Name) < b.Kind+"/"+nsName(b.Namespace, b.Name)
	})
	return pl.p, nil
}

// planner is the state of one NewPlan: the input indexed, the plan being
// built, and what one step gathers for the next.
type planner struct {
	in         Input
	p          *Plan
	issued     map[string]bool          // kind and object of each issue, so each is said once
	pods       []Pod                    // in.Pods by namespace/name, so the plan is stable
	identities map[string]AzureIdentity // by namespace/name
	ward       wardIndex
	excepted   map[string]bool   // pods an exception matches
	bound      map[string]bool   // pods a binding selects
	uses       map[string]*saUse // by service account namespace/name
	migrated   map[string]bool   // service accounts with steps
	workloads  map[string]bool   // owners with a step, by Workload.Ref
}

// saUse gathers, per service account, the identities its pods use and the
// pods themselves: a service account names one client ID, so it can be
// migrated only when its pods agree on one identity.
type saUse struct {
	identities map[string]*WardIdentity
	bindings   map[string][]string // identity ID → bindings
	pods       []Pod
}

func newPlanner(in Input) *planner {
	pl := &planner{
		in: in,
		p: &Plan{Issuer: in.Issuer, Bindings: []BindingPlan{}, FederatedCredentials: []CredentialStep{},
			ServiceAccounts: []ServiceAccountStep{}, Workloads: []WorkloadStep{}, Issues: []Issue{}},
		issued:     map[string]bool{},
		pods:       sortedByName(in.Pods, podName),
		identities: map[string]AzureIdentity{},
		ward:       newWardIndex(in.Ward),
		excepted:   map[string]bool{},
		bound:      map[string]bool{},
		uses:       map[string]*saUse{},
		migrated:   map[string]bool{},
		workloads:  map[string]bool{},
	}
	for _, id := range in.Identities {
		pl.identities[nsName(id.Namespace, id.Name)] = id
	}
	return pl
}

// issue records what cannot be migrated, once per kind and object: many
// pods of one workload or one service account share one fix.
func (pl *planner) issue(kind, object, msg, fix string) {
	if key := kind + "\x00" + object; !pl.issued[key] {
		pl.issued[key] = true
		pl.p.Issues = append(pl.p.Issues, Issue{Kind: kind, Object: object, Message: msg, Fix: fix})
	}
}

// sortedByName is a sorted copy of xs, so that the plan does not depend
// on the order the cluster listed its objects in.
func sortedByName[T any](xs []T, name func(T) string) []T {
	xs = slices.Clone(xs)
	sort.Slice(xs, func(i, j int) bool { return name(xs[i]) < name(xs[j]) })
	return xs
}

// planExceptions marks the pods the exceptions match. They come first:
// their pods bypassed aad-pod-identity, so they used the node's identity
// even when they carry a binding label.
func (pl *planner) planExceptions() {
	for _, ex := range sortedByName(pl.in.Exceptions, func(ex AzurePodIdentityException) string { return nsName(ex.Namespace, ex.Name) }) {
		var matched []string
		for _, pod := range pl.pods {
			if pod.Namespace == ex.Namespace && exceptionMatches(ex, pod.Labels) {
				pl.excepted[podName(pod)] = true
				matched = append(matched, podName(pod))
			}
		}
		what := "matches no pod now"
		if len(matched) > 0 {
			what = "lets pods " + strings.Join(matched, ", ") + " reach the node's IMDS"
		}
		pl.issue(IssueException, "AzurePodIdentityException/"+nsName(ex.Namespace, ex.Name),
			fmt.Sprintf("%s (labels %s): a pod it matches bypasses aad-pod-identity and gets the node's identity, which workload identity does not provide", what, labelList(ex.PodLabels)),
			"run Ward's node agent on the nodes (ward agent; 'ward aks show-install' prints its manifests) so these pods get the node's identity from IMDS, or give them a service account and an identity of their own")
	}
}

// resolve finds the Ward identity of an AzureIdentity, or says why there
// is none (once per identity).
func (pl *planner) resolve(id AzureIdentity) *WardIdentity {
	obj := "AzureIdentity/" + nsName(id.Namespace, id.Name)
	if id.Invalid != "" {
		pl.issue(IssueInvalidIdentity, obj, id.Invalid, "fix the object (spec.type is 0 for a user-assigned identity)")
		return nil
	}
	switch id.Type {
	case TypeUserAssignedMSI:
	case TypeServicePrincipal, TypeServicePrincipalCert:
		pl.issue(IssueServicePrincipal, obj,
			fmt.Sprintf("type %d is a service principal with a %s (client ID %s): workload identity federates a managed identity with the cluster's service accounts, not a secret", id.Type, map[int]string{1: "secret", 2: "certificate"}[id.Type], id.ClientID),
			"create a user-assigned identity in Ward with the roles the service principal holds (ward identity create), point the AzureIdentity at it as type 0, and run the migration again")
		return nil
	default:
		pl.issue(IssueInvalidIdentity, obj, fmt.Sprintf("spec.type %d is not one aad-pod-identity knows (0, 1 or 2)", id.Type), "fix spec.type")
		return nil
	}
	w := pl.ward.find(id)
	if w == nil {
		fix := "create it in Ward (ward identity create -g GROUP -n NAME) and point the AzureIdentity's resourceID at it"
		if rid, err := resourceid.Parse(id.ResourceID); err == nil && rid.ResourceGroup != "" && len(rid.Types) == 1 {
			fix = "create it in Ward: " + shellquote.Join("ward", "identity", "create", "-g", rid.ResourceGroup, "-n", rid.Types[0].Name)
		}
		pl.issue(IssueUnknownIdentity, obj, fmt.Sprintf("Ward holds no identity with resource ID %q or client ID %q (looked up by ID, client ID, then resource group and name)", id.ResourceID, id.ClientID), fix)
	}
	return w
}

// planBinding lists the pods a binding selects and records, for each pod
// that can be migrated, the identity its service account is to carry.
func (pl *planner) planBinding(b AzureIdentityBinding) BindingPlan {
	bp := BindingPlan{Namespace: b.Namespace, Name: b.Name, Selector: b.Selector, AzureIdentity: b.AzureIdentity, Pods: []PodRef{}, ServiceAccounts: []string{}}
	id, ok := pl.identities[nsName(b.Namespace, b.AzureIdentity)]
	var w *WardIdentity
	if !ok {
		pl.issue(IssueMissingIdentity, "AzureIdentityBinding/"+nsName(b.Namespace, b.Name), fmt.Sprintf("names AzureIdentity %q, which namespace %s does not hold", b.AzureIdentity, b.Namespace),
			"create the AzureIdentity or delete the binding")
	} else {
		w = pl.resolve(id)
	}
	if w != nil {
		bp.Identity, bp.ClientID = w.ID, w.ClientID
	}
	namespaced := pl.in.ForceNamespaced || (ok && id.Namespaced)
	for _, pod := range pl.pods {
		if b.Selector == "" || pod.Labels[BindingLabel] != b.Selector || (namespaced && pod.Namespace != b.Namespace) {
			continue
		}
		key := podName(pod)
		pl.bound[key] = true
		ref := PodRef{Namespace: pod.Namespace, Name: pod.Name, ServiceAccount: serviceAccountOf(pod), Excepted: pl.excepted[key]}
		if pod.Owner != nil {
			ref.Owner = pod.Owner.Ref()
		}
		bp.Pods = append(bp.Pods, ref)
		// An excepted pod used the node's identity, and a binding without
		// a Ward identity has nothing to migrate to.
		if !ref.Excepted && w != nil {
			pl.useIdentity(b, pod, ref.ServiceAccount, w)
		}
	}
	return bp
}

// useIdentity records that pod, through binding b, uses identity w as
// service account sa — unless sa is the namespace's default, which every
// pod of the namespace shares.
func (pl *planner) useIdentity(b AzureIdentityBinding, pod Pod, sa string, w *WardIdentity) {
	if sa == defaultServiceAccountName {
		obj, where := podObject(pod)
		pl.issue(IssueDefaultServiceAccount, obj,
			fmt.Sprintf("runs as the default service account of namespace %s: annotating it would give identity %s to every pod of the namespace that asks for workload identity", pod.Namespace, w.Name),
			fmt.Sprintf("create a service account for it (%s NAME), set serviceAccountName in %s, and run the migration again", shellquote.Join("kubectl", "create", "serviceaccount", "-n", pod.Namespace), where))
		return
	}
	key := nsName(pod.Namespace, sa)
	u := pl.uses[key]
	if u == nil {
		u = &saUse{identities: map[string]*WardIdentity{}, bindings: map[string][]string{}}
		pl.uses[key] = u
	}
	u.identities[w.ID] = w
	if binding := nsName(b.Namespace, b.Name); !slices.Contains(u.bindings[w.ID], binding) {
		u.bindings[w.ID] = append(u.bindings[w.ID], binding)
	}
	if !slices.ContainsFunc(u.pods, func(q Pod) bool { return q.Namespace == pod.Namespace && q.Name == pod.Name }) {
		u.pods = append(u.pods, pod)
	}
}

// planUnboundPods says which pods carry a binding label that no binding
// selects: they had no identity, so there is nothing to migrate, but the
// label suggests the user expected one.
func (pl *planner) planUnboundPods() {
	for _, pod := range pl.pods {
		key := podName(pod)
		if sel, ok := pod.Labels[BindingLabel]; ok && !pl.bound[key] && !pl.excepted[key] {
			obj, _ := podObject(pod)
			pl.issue(IssueNoBinding, obj, fmt.Sprintf("has label %s=%s but no AzureIdentityBinding selects it, so it had no identity", BindingLabel, sel),
				"nothing to migrate; remove the label, or bind an identity and run the migration again")
		}
	}
}

// planServiceAccounts makes the steps of each service account the
// bindings gathered, in name order: its federated credential, its
// annotation, and the labels on its pods' templates.
func (pl *planner) planServiceAccounts() {
	accounts := map[string]ServiceAccount{}
	for _, sa := range pl.in.ServiceAccounts {
		accounts[nsName(sa.Namespace, sa.Name)] = sa
	}
	for _, key := range slices.Sorted(maps.Keys(pl.uses)) {
		u := pl.uses[key]
		w := pl.soleIdentity(key, u)
		if w == nil {
			continue
		}
		ns, name, _ := strings.Cut(key, "/")
		obj := "ServiceAccount/" + key
		sa, ok := accounts[key]
		if !ok {
			pl.issue(IssueMissingServiceAccount, obj, "its pods run as it but it does not exist", shellquote.Join("kubectl", "create", "serviceaccount", "-n", ns, name))
			continue
		}
		if have := sa.Annotations[ClientIDAnnotation]; have != "" && have != w.ClientID {
			pl.issue(IssueAnnotationConflict, obj,
				fmt.Sprintf("already has %s=%s, but its pods used identity %s (client ID %s)", ClientIDAnnotation, have, w.Name, w.ClientID),
				"decide which identity the service account stands for, set the annotation, and run the migration again")
			continue
		}
		pl.migrated[key] = true
		step, ok := pl.credentialStep(ns, name, w)
		if !ok {
			continue
		}
		pl.p.FederatedCredentials = append(pl.p.FederatedCredentials, step)
		sas := ServiceAccountStep{Namespace: ns, Name: name, ClientID: w.ClientID, State: StatePending}
		if sa.Annotations[ClientIDAnnotation] == w.ClientID {
			sas.State = StateInPlace
		}
		pl.p.ServiceAccounts = append(pl.p.ServiceAccounts, sas)
		pl.planWorkloads(u.pods)
	}
}

// soleIdentity is the one identity a service account's pods use, or nil
// with an issue when they use several: the annotation names one client ID.
func (pl *planner) soleIdentity(key string, u *saUse) *WardIdentity {
	if len(u.identities) > 1 {
		var ids []string
		for _, w := range u.identities {
			ids = append(ids, fmt.Sprintf("%s (bindings %s)", w.Name, strings.Join(u.bindings[w.ID], ", ")))
		}
		sort.Strings(ids)
		pl.issue(IssueSharedServiceAccount, "ServiceAccount/"+key,
			fmt.Sprintf("its pods use %d identities: %s; a service account names one client ID", len(ids), strings.Join(ids, "; ")),
			"give each workload its own service account and run the migration again (or annotate the pod templates with azure.workload.identity/client-id, which Ward's webhook reads, accepting that every pod of this service account can then use each identity)")
		return nil
	}
	var w *WardIdentity
	for _, x := range u.identities {
		w = x
	}
	return w
}

// credentialStep is the federated credential that lets service account
// ns/name use identity w: in place when w already trusts it under any
// name; not made (false, with an issue) when its name is taken by a
// credential that trusts something else.
func (pl *planner) credentialStep(ns, name string, w *WardIdentity) (CredentialStep, bool) {
	subject := "system:serviceaccount:" + ns + ":" + name
	step := CredentialStep{Identity: w.ID, IdentityName: w.Name, ResourceGroup: w.ResourceGroup,
		Name: CredentialName(ns, name, pl.in.Issuer), Issuer: pl.in.Issuer, Subject: subject, Audience: Audience, State: StatePending}
	taken := false
	for _, c := range w.Credentials {
		if c.Issuer == pl.in.Issuer && c.Subject == subject && slices.Contains(c.Audiences, Audience) {
			step.State, step.Existing = StateInPlace, c.Name
			break
		}
		taken = taken || strings.EqualFold(c.Name, step.Name)
	}
	if taken && step.State == StatePending {
		// A PUT would overwrite someone's credential.
		pl.issue(IssueCredentialNameTaken, "ServiceAccount/"+nsName(ns, name),
			fmt.Sprintf("identity %s already has a federated credential named %s that trusts something else", w.Name, step.Name),
			"rename or delete that credential, and run the migration again")
		return step, false
	}
	return step, true
}

// planWorkloads labels the pod templates of a migrated service account's
// pods, once per owner. The webhook acts when a pod is created, so a pod
// without a template to label, or with one that cannot change, is an issue.
func (pl *planner) planWorkloads(pods []Pod) {
	for _, pod := range pods {
		switch o := pod.Owner; {
		case o == nil:
			if pod.Labels[UseLabel] == UseValue {
				continue
			}
			obj, _ := podObject(pod)
			pl.issue(IssueBarePod, obj, "has no owner whose template the migration could label; the webhook acts when a pod is created",
				fmt.Sprintf("recreate the pod with label %s: %q (after --apply has annotated its service account)", UseLabel, UseValue))
		case o.Unpatchable != "":
			pl.issue(IssueUnpatchableOwner, o.Kind+"/"+nsName(o.Namespace, o.Name), o.Unpatchable,
				fmt.Sprintf("add label %s: %q to its pod template yourself", UseLabel, UseValue))
		case !pl.workloads[o.Ref()]:
			pl.workloads[o.Ref()] = true
			st := WorkloadStep{Kind: o.Kind, Namespace: o.Namespace, Name: o.Name, State: StatePending}
			if o.TemplateLabels[UseLabel] == UseValue {
				st.State = StateInPlace
			}
			pl.p.Workloads = append(pl.p.Workloads, st)
		}
	}
}

// listMigratedServiceAccounts fills each binding's ServiceAccounts with
// those of its pods that the plan migrates, which is only known once
// every service account is planned.
func (pl *planner) listMigratedServiceAccounts() {
	for i := range pl.p.Bindings {
		b := &pl.p.Bindings[i]
		for _, pod := range b.Pods {
			if key := nsName(pod.Namespace, pod.ServiceAccount); pl.migrated[key] && !slices.Contains(b.ServiceAccounts, key) {
				b.ServiceAccounts = append(b.ServiceAccounts, key)
			}
		}
	}
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
