// Package kubeapi reads and writes the Kubernetes objects Ward's webhook
// and CLI need, through client-go's dynamic client, with the typed structs
// of the few API groups they touch.
//
// Not the typed clientset: k8s.io/client-go/kubernetes (and informers,
// listers and apply configurations with it) links and registers every API
// group's types, and runs their init, in every process of the one ward
// binary, ward serve included. Without it the binary is 73 MB instead of
// 112, and ward serve holds about 2.5 MiB less after the same load
// (docs/performance.md, Memory). The dynamic client registers no group; an
// object is converted to its typed struct where it is read.
package kubeapi

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// The resources Ward reads or writes.
var (
	Pods                          = schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	ServiceAccounts               = schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}
	Secrets                       = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
	Deployments                   = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	ReplicaSets                   = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "replicasets"}
	StatefulSets                  = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "statefulsets"}
	DaemonSets                    = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "daemonsets"}
	Jobs                          = schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}
	CronJobs                      = schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "cronjobs"}
	MutatingWebhookConfigurations = schema.GroupVersionResource{Group: "admissionregistration.k8s.io", Version: "v1", Resource: "mutatingwebhookconfigurations"}
)

// Config loads a kubeconfig as kubectl does: the file at kubeconfig, else
// KUBECONFIG or ~/.kube/config, else the pod's in-cluster configuration;
// in kubeContext, or the file's current context when "".
func Config(kubeconfig, kubeContext string, timeout time.Duration) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: kubeContext}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubernetes client config: %w", err)
	}
	cfg.QPS, cfg.Burst, cfg.Timeout = 50, 100, timeout
	return cfg, nil
}

// Client is a cluster: its dynamic client, and the API server's own paths
// (the OIDC discovery document) over the same authenticated connection.
type Client struct {
	dynamic.Interface
	raw func(ctx context.Context, path string) ([]byte, error)
}

// New connects to the cluster cfg describes.
// The dynamic client and GetPath share one HTTP client (one connection
// pool, one set of credentials), and GetPath reaches the API server at the
// base URL client-go itself derives from cfg (its scheme default and any
// path prefix of a proxy in front).
func New(cfg *rest.Config) (*Client, error) {
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfigAndClient(cfg, hc)
	if err != nil {
		return nil, err
	}
	base, _, err := rest.DefaultServerUrlFor(cfg)
	if err != nil {
		return nil, err
	}
	host := strings.TrimSuffix(base.String(), "/")
	return &Client{Interface: dyn, raw: func(ctx context.Context, path string) ([]byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, host+path, nil)
		if err != nil {
			return nil, err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s: %s", path, resp.Status)
		}
		return io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	}}, nil
}

// FromDynamic is a Client over d alone (a fake in tests): GetPath fails.
func FromDynamic(d dynamic.Interface) *Client { return &Client{Interface: d} }

// GetPath reads one of the API server's own paths, up to 1 MiB.
func (c *Client) GetPath(ctx context.Context, path string) ([]byte, error) {
	if c.raw == nil {
		return nil, fmt.Errorf("GET %s: this client reaches no API server", path)
	}
	return c.raw(ctx, path)
}

// Get reads the object ns/name of gvr into out, a pointer to its typed
// struct (ns "" for a cluster-scoped resource).
func Get(ctx context.Context, d dynamic.Interface, gvr schema.GroupVersionResource, ns, name string, out any) error {
	u, err := d.Resource(gvr).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	return runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, out)
}

// List lists gvr in ns ("" for every namespace) as typed structs.
func List[T any](ctx context.Context, d dynamic.Interface, gvr schema.GroupVersionResource, ns string, opts metav1.ListOptions) ([]T, error) {
	l, err := d.Resource(gvr).Namespace(ns).List(ctx, opts)
	if err != nil {
		return nil, err
	}
	out := make([]T, len(l.Items))
	for i := range l.Items {
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(l.Items[i].Object, &out[i]); err != nil {
			return nil, fmt.Errorf("%s %s/%s: %w", gvr.Resource, l.Items[i].GetNamespace(), l.Items[i].GetName(), err)
		}
	}
	return out, nil
}

// Create creates in (a typed struct with its apiVersion and kind set) in
// ns, and reads what the API server returned into out. With a subresource
// ("token"), it creates that subresource of the object in's name names.
func Create(ctx context.Context, d dynamic.Interface, gvr schema.GroupVersionResource, ns string, in, out any, subresource ...string) error {
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(in)
	if err != nil {
		return err
	}
	u, err := d.Resource(gvr).Namespace(ns).Create(ctx, &unstructured.Unstructured{Object: obj}, metav1.CreateOptions{}, subresource...)
	if err != nil {
		return err
	}
	return runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, out)
}

// Update replaces an object with in (read with Get, then changed; its
// resourceVersion makes a concurrent change fail the update) and reads
// the result into out.
func Update(ctx context.Context, d dynamic.Interface, gvr schema.GroupVersionResource, ns string, in, out any) error {
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(in)
	if err != nil {
		return err
	}
	u, err := d.Resource(gvr).Namespace(ns).Update(ctx, &unstructured.Unstructured{Object: obj}, metav1.UpdateOptions{})
	if err != nil {
		return err
	}
	return runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, out)
}
