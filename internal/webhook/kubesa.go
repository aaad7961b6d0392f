package webhook

import (
	"context"
	"fmt"
	"time"

	"github.com/ward-id/ward/internal/kubeapi"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"
)

// KubeServiceAccounts reads service accounts from an informer cache and,
// on a cache miss (a service account created a moment before its pod), from
// the API server.
type KubeServiceAccounts struct {
	client dynamic.Interface
	store  cache.Store
	synced cache.InformerSynced
}

var _ ServiceAccounts = (*KubeServiceAccounts)(nil)

// NewKubeServiceAccounts starts a service-account informer that runs until
// ctx ends. The cache keeps only names and annotations.
func NewKubeServiceAccounts(ctx context.Context, client dynamic.Interface) *KubeServiceAccounts {
	sas := client.Resource(kubeapi.ServiceAccounts)
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) { return sas.List(ctx, o) },
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return sas.Watch(ctx, o)
		},
	}
	inf := cache.NewSharedIndexInformer(lw, &unstructured.Unstructured{}, 10*time.Minute, cache.Indexers{})
	_ = inf.SetTransform(func(obj any) (any, error) {
		if u, ok := obj.(*unstructured.Unstructured); ok {
			var kept unstructured.Unstructured
			kept.SetAPIVersion(u.GetAPIVersion())
			kept.SetKind(u.GetKind())
			kept.SetName(u.GetName())
			kept.SetNamespace(u.GetNamespace())
			kept.SetResourceVersion(u.GetResourceVersion())
			kept.SetAnnotations(u.GetAnnotations())
			return &kept, nil
		}
		return obj, nil
	})
	s := &KubeServiceAccounts{client: client, store: inf.GetStore(), synced: inf.HasSynced}
	go inf.RunWithContext(ctx)
	return s
}

// WaitForSync blocks until the cache holds every service account, or ctx ends.
func (s *KubeServiceAccounts) WaitForSync(ctx context.Context) bool {
	return cache.WaitForCacheSync(ctx.Done(), s.synced)
}

// Synced reports whether the first list has completed (readiness).
func (s *KubeServiceAccounts) Synced() bool { return s.synced() }

// ServiceAccount implements ServiceAccounts.
func (s *KubeServiceAccounts) ServiceAccount(ctx context.Context, namespace, name string) (*ServiceAccount, error) {
	obj, ok, err := s.store.GetByKey(namespace + "/" + name)
	if err == nil && ok {
		if u, isU := obj.(*unstructured.Unstructured); isU {
			return &ServiceAccount{Annotations: u.GetAnnotations()}, nil
		}
	}
	u, err := s.client.Resource(kubeapi.ServiceAccounts).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, ErrServiceAccountNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read service account: %w", err)
	}
	return &ServiceAccount{Annotations: u.GetAnnotations()}, nil
}
