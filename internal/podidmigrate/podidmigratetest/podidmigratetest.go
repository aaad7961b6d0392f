// Package podidmigratetest is a cluster as aad-pod-identity leaves it, on
// client-go's fake dynamic client, for the tests of ward migrate
// aad-pod-identity: internal/cli's plan tests and test/e2e's run against
// ward serve read the same cluster.
package podidmigratetest

import (
	"github.com/ward-id/ward/internal/kubeapi"
	"github.com/ward-id/ward/internal/kubeapi/kubeapitest"
	"github.com/ward-id/ward/internal/podidmigrate"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
)

// Cluster is client-go's fake cluster as aad-pod-identity
// left it: a Deployment (through its ReplicaSet) and a bare pod bound to
// an AzureIdentity that was, in Azure, in another subscription with
// another client ID; a service principal's binding and an exception,
// which cannot be migrated as they are.
func Cluster() (*dynamicfake.FakeDynamicClient, podidmigrate.Kube) {
	yes := true
	tmpl := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web", "aadpodidbinding": "web"}},
		Spec: corev1.PodSpec{ServiceAccountName: "web-sa"}}
	typed := []runtime.Object{
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "web-sa"}},
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "web"}, Spec: appsv1.DeploymentSpec{Template: tmpl}},
		&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "web-1", OwnerReferences: []metav1.OwnerReference{{Kind: "Deployment", Name: "web", Controller: &yes}}},
			Spec: appsv1.ReplicaSetSpec{Template: tmpl}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "web-1-a", Labels: tmpl.Labels,
			OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "web-1", Controller: &yes}}}, Spec: tmpl.Spec},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "lonely", Labels: map[string]string{"aadpodidbinding": "web"}}, Spec: tmpl.Spec},
	}
	obj := func(kind, name string, spec map[string]any) runtime.Object {
		return &unstructured.Unstructured{Object: map[string]any{"apiVersion": "aadpodidentity.k8s.io/v1", "kind": kind,
			"metadata": map[string]any{"namespace": "apps", "name": name}, "spec": spec}}
	}
	kinds := []schema.GroupVersionKind{}
	for _, k := range []string{"AzureIdentity", "AzureIdentityBinding", "AzurePodIdentityException"} {
		kinds = append(kinds, schema.GroupVersionKind{Group: podidmigrate.Group, Version: "v1", Kind: k})
	}
	kube := kubeapitest.Fake(kinds, append(typed,
		obj("AzureIdentity", "web-id", map[string]any{"type": int64(0), "clientID": "azure-client-id",
			"resourceID": "/subscriptions/11111111-1111-1111-1111-111111111111/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/web-identity"}),
		obj("AzureIdentity", "sp", map[string]any{"type": int64(1), "clientID": "sp-client"}),
		obj("AzureIdentityBinding", "web-binding", map[string]any{"azureIdentity": "web-id", "selector": "web"}),
		obj("AzureIdentityBinding", "sp-binding", map[string]any{"azureIdentity": "sp", "selector": "sp"}),
		obj("AzurePodIdentityException", "infra", map[string]any{"podLabels": map[string]any{"team": "infra"}}),
	)...)
	return kube, podidmigrate.Kube{API: kubeapi.FromDynamic(kube)}
}
