package podidmigrate

import (
	"context"
	"errors"
	"slices"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/ward-id/ward/internal/kubeapi"
	"github.com/ward-id/ward/internal/kubeapi/kubeapitest"
)

func crd(kind, ns, name string, spec map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{"apiVersion": Group + "/v1", "kind": kind,
		"metadata": map[string]any{"namespace": ns, "name": name}, "spec": spec}}
}

// cluster is a fake cluster holding objs (typed structs, and
// aad-pod-identity's objects from crd), which serves aad-pod-identity's
// three custom resources.
func cluster(objs ...runtime.Object) *dynamicfake.FakeDynamicClient {
	return kubeapitest.Fake([]schema.GroupVersionKind{
		{Group: Group, Version: "v1", Kind: "AzureIdentity"},
		{Group: Group, Version: "v1", Kind: "AzureIdentityBinding"},
		{Group: Group, Version: "v1", Kind: "AzurePodIdentityException"},
	}, objs...)
}

// get reads ns/name of gvr as a T, failing the test if it cannot.
func get[T any](t *testing.T, kube *dynamicfake.FakeDynamicClient, gvr schema.GroupVersionResource, ns, name string) T {
	t.Helper()
	var out T
	if err := kubeapi.Get(context.Background(), kube, gvr, ns, name, &out); err != nil {
		t.Fatalf("read %s %s/%s: %v", gvr.Resource, ns, name, err)
	}
	return out
}

func controller(kind, name string) []metav1.OwnerReference {
	yes := true
	return []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: kind, Name: name, Controller: &yes}}
}

func template(labels map[string]string, sa string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{ServiceAccountName: sa}}
}

func labelledPod(ns, name, sa, selector string, owners []metav1.OwnerReference) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{BindingLabel: selector}, OwnerReferences: owners},
		Spec: corev1.PodSpec{ServiceAccountName: sa}}
}

// recordingWard is Ward as Apply sees it, remembering what it was asked
// to create; test/e2e runs Apply against a real Ward server.
type recordingWard struct {
	created []CredentialStep
	fail    error
}

func (w *recordingWard) CreateFederatedCredential(_ context.Context, s CredentialStep) error {
	if w.fail != nil {
		return w.fail
	}
	w.created = append(w.created, s)
	return nil
}

// TestReadPlanApply reads a cluster through client-go, walks owners to the
// objects users maintain, applies the plan, and reads again: the second
// plan has nothing left to do.
func TestReadPlanApply(t *testing.T) {
	ctx := context.Background()
	tmpl := template(map[string]string{"app": "web", BindingLabel: "web"}, "web-sa")
	kube := cluster(
		crd("AzureIdentity", "apps", "web-id", map[string]any{"type": int64(0), "resourceID": "/subscriptions/x/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/web-identity"}),
		crd("AzureIdentityBinding", "apps", "web-binding", map[string]any{"azureIdentity": "web-id", "selector": "web"}),
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "web-sa", Annotations: map[string]string{"keep": "me"}}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "batch-sa"}},
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "web"}, Spec: appsv1.DeploymentSpec{Template: tmpl}},
		&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "web-5d9", OwnerReferences: controller("Deployment", "web")}, Spec: appsv1.ReplicaSetSpec{Template: tmpl}},
		&appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "db"}, Spec: appsv1.StatefulSetSpec{Template: template(nil, "web-sa")}},
		&batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "nightly"}, Spec: batchv1.CronJobSpec{JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: template(nil, "batch-sa")}}}},
		&batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "nightly-1", OwnerReferences: controller("CronJob", "nightly")}, Spec: batchv1.JobSpec{Template: template(nil, "batch-sa")}},
		&batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "once"}, Spec: batchv1.JobSpec{Template: template(nil, "batch-sa")}},
		labelledPod("apps", "web-5d9-a", "web-sa", "web", controller("ReplicaSet", "web-5d9")),
		labelledPod("apps", "web-5d9-b", "web-sa", "web", controller("ReplicaSet", "web-5d9")),
		labelledPod("apps", "db-0", "web-sa", "web", controller("StatefulSet", "db")),
		labelledPod("apps", "nightly-1-x", "batch-sa", "web", controller("Job", "nightly-1")),
		labelledPod("apps", "once-x", "batch-sa", "web", controller("Job", "once")),
		labelledPod("apps", "rollout-x", "batch-sa", "web", controller("Rollout", "r")),
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "unlabelled"}},
		&admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "ward"}, Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name: "ward", ObjectSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"azure.workload.identity/use": "true"}}}}},
	)
	k := Kube{API: kubeapi.FromDynamic(kube)}
	ward := []WardIdentity{wardID("rg", "web-identity", "cid")}

	in, err := Read(ctx, k, "")
	if err != nil {
		t.Fatal(err)
	}
	owners := map[string]string{}
	for _, p := range in.Pods {
		if p.Owner != nil {
			owners[p.Name] = p.Owner.Ref() + "|" + p.Owner.Unpatchable
		}
	}
	want := map[string]string{
		"web-5d9-a":   "Deployment/apps/web|",
		"web-5d9-b":   "Deployment/apps/web|",
		"db-0":        "StatefulSet/apps/db|",
		"nightly-1-x": "CronJob/apps/nightly|",
		"once-x":      "Job/apps/once|a Job's pod template cannot be changed; its pods keep aad-pod-identity until the Job is recreated",
		"rollout-x":   "Rollout/apps/r|the migration does not patch a Rollout (apps/v1)",
	}
	for name, w := range want {
		if owners[name] != w {
			t.Errorf("owner of %s = %q, want %q", name, owners[name], w)
		}
	}
	if len(in.Pods) != 6 || len(in.ServiceAccounts) != 2 || in.NoWebhook {
		t.Fatalf("read %d pods, %d service accounts, noWebhook %v", len(in.Pods), len(in.ServiceAccounts), in.NoWebhook)
	}

	in.Issuer, in.Ward = testIssuer, ward
	p, err := NewPlan(in)
	if err != nil {
		t.Fatal(err)
	}
	wantSummary := []string{
		"fic pending rg/web-identity system:serviceaccount:apps:batch-sa",
		"fic pending rg/web-identity system:serviceaccount:apps:web-sa",
		"issue unpatchableOwner Job/apps/once",
		"issue unpatchableOwner Rollout/apps/r",
		"sa pending apps/batch-sa=cid",
		"sa pending apps/web-sa=cid",
		"template pending CronJob/apps/nightly",
		"template pending Deployment/apps/web",
		"template pending StatefulSet/apps/db",
	}
	if got := summary(p); !slices.Equal(got, wantSummary) {
		t.Fatalf("plan:\n got  %q\n want %q", got, wantSummary)
	}

	w := &recordingWard{}
	n, err := Apply(ctx, p, kube, w)
	if err != nil || n != 7 || len(w.created) != 2 {
		t.Fatalf("apply: %d steps, %d credentials, %v", n, len(w.created), err)
	}
	if p.Pending() != 0 || p.Summary(true) != "Applied 7 change(s)." {
		t.Errorf("after apply: pending %d, %q", p.Pending(), p.Summary(true))
	}
	sa := get[corev1.ServiceAccount](t, kube, kubeapi.ServiceAccounts, "apps", "web-sa")
	if sa.Annotations["azure.workload.identity/client-id"] != "cid" || sa.Annotations["keep"] != "me" {
		t.Errorf("service account annotations %v", sa.Annotations)
	}
	dep := get[appsv1.Deployment](t, kube, kubeapi.Deployments, "apps", "web")
	if l := dep.Spec.Template.Labels; l["azure.workload.identity/use"] != "true" || l["app"] != "web" || l[BindingLabel] != "web" {
		t.Errorf("deployment template labels %v", l)
	}
	cj := get[batchv1.CronJob](t, kube, kubeapi.CronJobs, "apps", "nightly")
	if cj.Spec.JobTemplate.Spec.Template.Labels["azure.workload.identity/use"] != "true" {
		t.Errorf("cronjob template labels %v", cj.Spec.JobTemplate.Spec.Template.Labels)
	}

	// Again, with Ward now holding the credentials: nothing to do.
	in, err = Read(ctx, k, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range w.created {
		ward[0].Credentials = append(ward[0].Credentials, Credential{Name: c.Name, Issuer: c.Issuer, Subject: c.Subject, Audiences: []string{c.Audience}})
	}
	in.Issuer, in.Ward = testIssuer, ward
	if p, err = NewPlan(in); err != nil {
		t.Fatal(err)
	}
	w.fail = errors.New("must not be called")
	if n, err := Apply(ctx, p, kube, w); err != nil || n != 0 {
		t.Fatalf("second apply: %d steps, %v", n, err)
	}
	if got := p.Summary(true); got != "Nothing to change: Ward and the cluster already match the plan." {
		t.Errorf("second apply says %q", got)
	}
}

func TestApplyStopsAtFirstFailure(t *testing.T) {
	ctx := context.Background()
	kube := cluster(&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "web-sa"}})
	p := &Plan{
		FederatedCredentials: []CredentialStep{{Name: "f", Identity: "/id", State: StatePending}},
		ServiceAccounts:      []ServiceAccountStep{{Namespace: "apps", Name: "web-sa", ClientID: "cid", State: StatePending}},
	}
	n, err := Apply(ctx, p, kube, &recordingWard{fail: errors.New("quota")})
	if n != 0 || err == nil || err.Error() != "create federated credential f on /id: quota" {
		t.Fatalf("apply: %d, %v", n, err)
	}
	if sa := get[corev1.ServiceAccount](t, kube, kubeapi.ServiceAccounts, "apps", "web-sa"); sa.Annotations != nil || p.ServiceAccounts[0].State != StatePending {
		t.Fatalf("annotated after a failed credential: %v", sa.Annotations)
	}
}

func TestReadWithoutCRDs(t *testing.T) {
	dyn := cluster()
	dyn.PrependReactor("list", "azureidentities", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewNotFound(schema.GroupResource{Group: Group, Resource: "azureidentities"}, "")
	})
	_, err := Read(context.Background(), Kube{API: kubeapi.FromDynamic(dyn)}, "")
	if !errors.Is(err, ErrNoCRDs) {
		t.Fatalf("err = %v, want ErrNoCRDs", err)
	}
}

func TestReadExceptionsAndNoWebhook(t *testing.T) {
	kube := cluster(
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "agent", Labels: map[string]string{"kubernetes.azure.com/managedby": "aks"}}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "other", Name: "x", Labels: map[string]string{"kubernetes.azure.com/managedby": "aks"}}},
		crd("AzurePodIdentityException", "kube-system", "aks-addon", map[string]any{"podLabels": map[string]any{"kubernetes.azure.com/managedby": "aks"}}),
	)
	in, err := Read(context.Background(), Kube{API: kubeapi.FromDynamic(kube)}, "")
	if err != nil {
		t.Fatal(err)
	}
	if !in.NoWebhook || len(in.Pods) != 1 || in.Pods[0].Name != "agent" || len(in.Exceptions) != 1 {
		t.Fatalf("input %+v", in)
	}
	in.Issuer = testIssuer
	p, _ := NewPlan(in)
	if got, want := summary(p), []string{"issue exception AzurePodIdentityException/kube-system/aks-addon", "issue noWebhook MutatingWebhookConfiguration"}; !slices.Equal(got, want) {
		t.Fatalf("plan %q, want %q", got, want)
	}
}
