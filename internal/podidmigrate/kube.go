package podidmigrate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/ward-id/ward/internal/kubeapi"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
)

// Kube is the cluster: pods, service accounts, workloads, webhook
// configurations and aad-pod-identity's custom resources, all through
// one dynamic client (internal/kubeapi says why not the typed clientset).
type Kube struct {
	API *kubeapi.Client
}

// ErrNoCRDs is returned by Read when the cluster does not serve
// aad-pod-identity's custom resources.
var ErrNoCRDs = errors.New("the cluster does not serve aad-pod-identity's custom resources (aadpodidentity.k8s.io/v1 azureidentities): is aad-pod-identity installed, and is this the right --context?")

// Read fills the cluster's half of an Input: aad-pod-identity's objects,
// the pods they concern with the owners of their templates, and those
// pods' service accounts. namespace "" reads every namespace (a binding
// matches pods across namespaces unless its identity is namespaced).
func Read(ctx context.Context, k Kube, namespace string) (Input, error) {
	var in Input
	if err := readCustomResources(ctx, k, namespace, &in); err != nil {
		return in, err
	}
	pods, err := listPods(ctx, k, namespace, in.Exceptions)
	if err != nil {
		return in, err
	}
	if err := describePods(ctx, k, pods, &in); err != nil {
		return in, err
	}
	in.NoWebhook = noUseWebhook(ctx, k)
	return in, nil
}

// readCustomResources reads aad-pod-identity's identities, bindings and
// exceptions into in.
func readCustomResources(ctx context.Context, k Kube, namespace string, in *Input) error {
	list := func(gvr schema.GroupVersionResource) ([]map[string]any, error) {
		l, err := k.API.Resource(gvr).Namespace(namespace).List(ctx, metav1.ListOptions{})
		if apierrors.IsNotFound(err) {
			return nil, ErrNoCRDs
		}
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", gvr.Resource, err)
		}
		out := make([]map[string]any, len(l.Items))
		for i := range l.Items {
			out[i] = l.Items[i].Object
		}
		return out, nil
	}
	objs, err := list(IdentitiesResource)
	if err != nil {
		return err
	}
	for _, o := range objs {
		// An invalid object is planned as one (id.Invalid), not a failed
		// read: one bad object should not hide the rest of the plan.
		id, _ := DecodeIdentity(o)
		in.Identities = append(in.Identities, id)
	}
	if objs, err = list(BindingsResource); err != nil {
		return err
	}
	for _, o := range objs {
		in.Bindings = append(in.Bindings, DecodeBinding(o))
	}
	// Exceptions came later (aad-pod-identity 1.5): a cluster may lack
	// their CRD and still have identities to migrate.
	if objs, err = list(ExceptionsResource); err != nil && !errors.Is(err, ErrNoCRDs) {
		return err
	}
	for _, o := range objs {
		in.Exceptions = append(in.Exceptions, DecodeException(o))
	}
	return nil
}

// listPods lists the pods the migration concerns, by namespace and name:
// those with a binding label, and every pod of a namespace that has an
// exception (exceptions match by any label).
func listPods(ctx context.Context, k Kube, namespace string, exceptions []AzurePodIdentityException) ([]*corev1.Pod, error) {
	pods := map[string]*corev1.Pod{}
	addPods := func(ns, selector string) error {
		l, err := kubeapi.List[corev1.Pod](ctx, k.API, kubeapi.Pods, ns, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return fmt.Errorf("list pods: %w", err)
		}
		for i := range l {
			pods[nsName(l[i].Namespace, l[i].Name)] = &l[i]
		}
		return nil
	}
	if err := addPods(namespace, BindingLabel); err != nil {
		return nil, err
	}
	exNamespaces := map[string]bool{}
	for _, ex := range exceptions {
		if !exNamespaces[ex.Namespace] {
			exNamespaces[ex.Namespace] = true
			if err := addPods(ex.Namespace, ""); err != nil {
				return nil, err
			}
		}
	}
	out := make([]*corev1.Pod, 0, len(pods))
	for _, key := range slices.Sorted(maps.Keys(pods)) {
		out = append(out, pods[key])
	}
	return out, nil
}

// describePods adds the pods to in, with the owners of their templates
// and their service accounts. Only a pod with a binding label needs them:
// a pod listed for an exception alone is not migrated, and reading its
// owner would cost calls for nothing.
func describePods(ctx context.Context, k Kube, pods []*corev1.Pod, in *Input) error {
	owners := ownerReader{k: k.API, cache: map[string]*Workload{}}
	accounts := map[string]bool{}
	for _, p := range pods {
		pod := Pod{Namespace: p.Namespace, Name: p.Name, Labels: p.Labels, ServiceAccount: p.Spec.ServiceAccountName}
		if _, ok := p.Labels[BindingLabel]; ok {
			var err error
			if pod.Owner, err = owners.of(ctx, p.Namespace, p.OwnerReferences); err != nil {
				return err
			}
			sa := serviceAccountOf(pod)
			if !accounts[nsName(p.Namespace, sa)] {
				accounts[nsName(p.Namespace, sa)] = true
				if err := readServiceAccount(ctx, k, p.Namespace, sa, in); err != nil {
					return err
				}
			}
		}
		in.Pods = append(in.Pods, pod)
	}
	return nil
}

// readServiceAccount adds service account ns/name to in. One that does
// not exist is left out: the plan reports it as missing.
func readServiceAccount(ctx context.Context, k Kube, ns, name string, in *Input) error {
	got, err := k.API.Resource(kubeapi.ServiceAccounts).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return fmt.Errorf("read service account %s/%s: %w", ns, name, err)
	default:
		in.ServiceAccounts = append(in.ServiceAccounts, ServiceAccount{Namespace: got.GetNamespace(), Name: got.GetName(), Annotations: got.GetAnnotations()})
	}
	return nil
}

// noUseWebhook says whether no mutating webhook acts on the use label;
// false (unknown, and not reported) when the caller may not list webhook
// configurations.
func noUseWebhook(ctx context.Context, k Kube) bool {
	hooks, err := kubeapi.List[admissionv1.MutatingWebhookConfiguration](ctx, k.API, kubeapi.MutatingWebhookConfigurations, "", metav1.ListOptions{})
	if err != nil {
		return false
	}
	for _, c := range hooks {
		for _, h := range c.Webhooks {
			if h.ObjectSelector != nil && h.ObjectSelector.MatchLabels[UseLabel] == UseValue {
				return false
			}
		}
	}
	return true
}

// ownerReader walks controller owner references up to the object whose
// pod template a user maintains.
type ownerReader struct {
	k     dynamic.Interface
	cache map[string]*Workload
}

func controllerOf(refs []metav1.OwnerReference) *metav1.OwnerReference {
	for i := range refs {
		if refs[i].Controller != nil && *refs[i].Controller {
			return &refs[i]
		}
	}
	return nil
}

func (r *ownerReader) of(ctx context.Context, ns string, refs []metav1.OwnerReference) (*Workload, error) {
	ref := controllerOf(refs)
	if ref == nil {
		return nil, nil
	}
	key := ref.Kind + "/" + ns + "/" + ref.Name
	if w, ok := r.cache[key]; ok {
		return w, nil
	}
	w, err := r.read(ctx, ns, ref)
	if err != nil {
		return nil, err
	}
	r.cache[key] = w
	return w, nil
}

// read reads one owner. An owner that is gone (a ReplicaSet's Deployment
// deleted with --cascade=orphan) leaves the object below it as the owner.
func (r *ownerReader) read(ctx context.Context, ns string, ref *metav1.OwnerReference) (*Workload, error) {
	w := &Workload{Kind: ref.Kind, Namespace: ns, Name: ref.Name}
	kind, ok := workloadKinds[ref.Kind]
	if !ok {
		w.Unpatchable = fmt.Sprintf("the migration does not patch a %s (%s)", ref.Kind, ref.APIVersion)
		return w, nil
	}
	o, err := r.k.Resource(kind.gvr).Namespace(ns).Get(ctx, ref.Name, metav1.GetOptions{})
	var parent []metav1.OwnerReference
	if err == nil {
		w.TemplateLabels, _, _ = unstructured.NestedStringMap(o.Object, kind.templateLabels...)
		if kind.followOwner {
			parent = o.GetOwnerReferences()
		}
		w.Unpatchable = kind.unpatchable
	}
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s %s/%s: %w", ref.Kind, ns, ref.Name, err)
	}
	if up := controllerOf(parent); up != nil && (up.Kind == "Deployment" && ref.Kind == "ReplicaSet" || up.Kind == "CronJob" && ref.Kind == "Job") {
		above, err := r.of(ctx, ns, parent)
		if err != nil {
			return nil, err
		}
		if above != nil {
			return above, nil
		}
	}
	return w, nil
}

// Ward is what Apply needs of Ward: creating a federated credential.
type Ward interface {
	CreateFederatedCredential(ctx context.Context, step CredentialStep) error
}

// Apply makes the plan's pending steps, in the order that keeps pods
// working: the federated credentials first (so that a token is trusted
// before anything asks for one), then the service-account annotations,
// then the pod-template labels (which roll the pods, and the webhook reads
// the annotation when they are created). It stops at the first failure;
// what it made is marked done, and a second run plans from what is there.
// It returns the number of steps it made.
func Apply(ctx context.Context, p *Plan, kube dynamic.Interface, ward Ward) (int, error) {
	n := 0
	err := makePending(p.FederatedCredentials, &n, func(s *CredentialStep) *string { return &s.State }, func(s *CredentialStep) error {
		if err := ward.CreateFederatedCredential(ctx, *s); err != nil {
			return fmt.Errorf("create federated credential %s on %s: %w", s.Name, s.Identity, err)
		}
		return nil
	})
	if err != nil {
		return n, err
	}
	err = makePending(p.ServiceAccounts, &n, func(s *ServiceAccountStep) *string { return &s.State }, func(s *ServiceAccountStep) error {
		patch := map[string]any{"metadata": map[string]any{"annotations": map[string]string{ClientIDAnnotation: s.ClientID}}}
		if err := mergePatch(patch, func(b []byte) error {
			_, err := kube.Resource(kubeapi.ServiceAccounts).Namespace(s.Namespace).Patch(ctx, s.Name, types.MergePatchType, b, metav1.PatchOptions{})
			return err
		}); err != nil {
			return fmt.Errorf("annotate service account %s/%s: %w", s.Namespace, s.Name, err)
		}
		return nil
	})
	if err != nil {
		return n, err
	}
	err = makePending(p.Workloads, &n, func(s *WorkloadStep) *string { return &s.State }, func(s *WorkloadStep) error {
		if err := labelTemplate(ctx, kube, *s); err != nil {
			return fmt.Errorf("label the pod template of %s %s/%s: %w", s.Kind, s.Namespace, s.Name, err)
		}
		return nil
	})
	return n, err
}

// makePending makes each pending step in order with do, marks it done and
// counts it in *n, so that a failure leaves the plan saying exactly what
// was made. It stops at the first failure.
func makePending[S any](steps []S, n *int, state func(*S) *string, do func(*S) error) error {
	for i := range steps {
		s := &steps[i]
		if *state(s) != StatePending {
			continue
		}
		if err := do(s); err != nil {
			return err
		}
		*state(s) = StateDone
		*n++
	}
	return nil
}

// labelTemplate adds the use label to a workload's pod template with a
// merge patch, which leaves every other label alone.
func labelTemplate(ctx context.Context, kube dynamic.Interface, s WorkloadStep) error {
	template := map[string]any{"metadata": map[string]any{"labels": map[string]string{UseLabel: UseValue}}}
	spec := map[string]any{"template": template}
	if s.Kind == "CronJob" {
		spec = map[string]any{"jobTemplate": map[string]any{"spec": spec}}
	}
	patch := map[string]any{"spec": spec}
	kind, ok := workloadKinds[s.Kind]
	if !ok || kind.unpatchable != "" {
		return fmt.Errorf("kind %s is not patched", s.Kind)
	}
	return mergePatch(patch, func(b []byte) error {
		_, err := kube.Resource(kind.gvr).Namespace(s.Namespace).Patch(ctx, s.Name, types.MergePatchType, b, metav1.PatchOptions{})
		return err
	})
}

// workloadKind is a controller a pod template belongs to: where it is
// served, where its template's labels are, whether its own controller (a
// ReplicaSet's Deployment, a Job's CronJob) is the one a user maintains,
// and why its template cannot be labelled, if it cannot.
type workloadKind struct {
	gvr            schema.GroupVersionResource
	templateLabels []string
	followOwner    bool
	unpatchable    string
}

var (
	podTemplateLabels = []string{"spec", "template", "metadata", "labels"}
	workloadKinds     = map[string]workloadKind{
		"ReplicaSet":  {gvr: kubeapi.ReplicaSets, templateLabels: podTemplateLabels, followOwner: true},
		"Deployment":  {gvr: kubeapi.Deployments, templateLabels: podTemplateLabels},
		"StatefulSet": {gvr: kubeapi.StatefulSets, templateLabels: podTemplateLabels},
		"DaemonSet":   {gvr: kubeapi.DaemonSets, templateLabels: podTemplateLabels},
		"Job": {gvr: kubeapi.Jobs, templateLabels: podTemplateLabels, followOwner: true,
			unpatchable: "a Job's pod template cannot be changed; its pods keep aad-pod-identity until the Job is recreated"},
		"CronJob": {gvr: kubeapi.CronJobs, templateLabels: []string{"spec", "jobTemplate", "spec", "template", "metadata", "labels"}},
	}
)

func mergePatch(patch any, send func([]byte) error) error {
	b, err := json.Marshal(patch)
	if err != nil {
		return err
	}
	return send(b)
}
