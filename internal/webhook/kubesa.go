package webhook

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	listersv1 "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// KubeServiceAccounts reads service accounts from an informer cache and,
// on a cache miss (a service account created a moment before its pod), from
// the API server.
type KubeServiceAccounts struct {
	client kubernetes.Interface
	lister listersv1.ServiceAccountLister
	synced cache.InformerSynced
}

var _ ServiceAccounts = (*KubeServiceAccounts)(nil)

// NewKubeServiceAccounts starts a service-account informer that runs until
// ctx ends. The cache keeps only names and annotations.
func NewKubeServiceAccounts(ctx context.Context, client kubernetes.Interface) *KubeServiceAccounts {
	factory := informers.NewSharedInformerFactoryWithOptions(client, 10*time.Minute,
		informers.WithTransform(func(obj any) (any, error) {
			if sa, ok := obj.(*corev1.ServiceAccount); ok {
				return &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{
					Name: sa.Name, Namespace: sa.Namespace, Annotations: sa.Annotations, ResourceVersion: sa.ResourceVersion}}, nil
			}
			return obj, nil
		}))
	inf := factory.Core().V1().ServiceAccounts()
	s := &KubeServiceAccounts{client: client, lister: inf.Lister(), synced: inf.Informer().HasSynced}
	factory.Start(ctx.Done())
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
	sa, err := s.lister.ServiceAccounts(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		sa, err = s.client.CoreV1().ServiceAccounts(namespace).Get(ctx, name, metav1.GetOptions{})
	}
	if apierrors.IsNotFound(err) {
		return nil, ErrServiceAccountNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read service account: %w", err)
	}
	return &ServiceAccount{Annotations: sa.Annotations}, nil
}
