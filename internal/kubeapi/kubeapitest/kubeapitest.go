// Package kubeapitest is a cluster for the tests of code that reaches
// Kubernetes through internal/kubeapi: client-go's fake dynamic client,
// which knows the typed objects of the API groups Ward reads (given as
// typed structs) and the custom resources a test names.
package kubeapitest

import (
	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
)

// Fake is a cluster holding objs: typed structs of core, apps, batch,
// admissionregistration and authentication v1, or unstructured objects
// of the custom resources in custom (each a kind; its list kind is the
// kind with "List", its resource the lower-case plural). A custom
// resource with no object can still be listed.
func Fake(custom []schema.GroupVersionKind, objs ...runtime.Object) *dynamicfake.FakeDynamicClient {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme,
		admissionv1.AddToScheme, authenticationv1.AddToScheme} {
		if err := add(scheme); err != nil {
			panic(err)
		}
	}
	for _, gvk := range custom {
		scheme.AddKnownTypeWithName(gvk, &unstructured.Unstructured{})
		scheme.AddKnownTypeWithName(gvk.GroupVersion().WithKind(gvk.Kind+"List"), &unstructured.UnstructuredList{})
	}
	return dynamicfake.NewSimpleDynamicClient(scheme, objs...)
}
