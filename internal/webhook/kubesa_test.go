package webhook

import (
	"context"
	"errors"
	"testing"

	"github.com/ward-id/ward/internal/kubeapi/kubeapitest"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/cache"
)

// TestServiceAccountCacheMiss: a service account the informer has not
// seen yet (created a moment before its pod) is read from the API server;
// one that exists nowhere is ErrServiceAccountNotFound.
func TestServiceAccountCacheMiss(t *testing.T) {
	ctx := context.Background()
	cached := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "cached", Namespace: "ns1",
		Annotations: map[string]string{"azure.workload.identity/client-id": "from-cache"}}}
	fresh := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "fresh", Namespace: "ns1",
		Annotations: map[string]string{"azure.workload.identity/client-id": "from-api"}}}
	store := cache.NewStore(cache.MetaNamespaceKeyFunc)
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(cached)
	if err != nil {
		t.Fatal(err)
	}
	store.Add(&unstructured.Unstructured{Object: obj})
	client := kubeapitest.Fake(nil, fresh) // the API server knows only the fresh one
	s := &KubeServiceAccounts{client: client, store: store, synced: func() bool { return true }}

	for name, want := range map[string]string{"cached": "from-cache", "fresh": "from-api"} {
		sa, err := s.ServiceAccount(ctx, "ns1", name)
		if err != nil || sa.Annotations["azure.workload.identity/client-id"] != want {
			t.Fatalf("%s: %+v, %v; want client-id %s", name, sa, err, want)
		}
	}
	reads := 0
	for _, a := range client.Actions() {
		if a.GetVerb() == "get" {
			reads++
		}
	}
	if reads != 1 {
		t.Fatalf("%d live reads, want 1 (only the cache miss)", reads)
	}
	if _, err := s.ServiceAccount(ctx, "ns1", "ghost"); !errors.Is(err, ErrServiceAccountNotFound) {
		t.Fatalf("missing SA: %v", err)
	}
}
