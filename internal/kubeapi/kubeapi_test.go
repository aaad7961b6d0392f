package kubeapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ward-id/ward/internal/kubeapi"
	"github.com/ward-id/ward/internal/kubeapi/kubeapitest"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// TestTypedRoundTrip creates, reads, lists and updates a typed object
// through the dynamic client, and reads a missing one as NotFound.
func TestTypedRoundTrip(t *testing.T) {
	ctx := context.Background()
	kube := kubeapitest.Fake(nil, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "web"}})

	want := &corev1.Secret{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "tls"}, Type: corev1.SecretTypeTLS, Data: map[string][]byte{"tls.crt": []byte("pem")}}
	var created corev1.Secret
	if err := kubeapi.Create(ctx, kube, kubeapi.Secrets, "apps", want, &created); err != nil {
		t.Fatal(err)
	}
	var got corev1.Secret
	if err := kubeapi.Get(ctx, kube, kubeapi.Secrets, "apps", "tls", &got); err != nil || string(got.Data["tls.crt"]) != "pem" || got.Type != corev1.SecretTypeTLS {
		t.Fatalf("get: %+v, %v", got, err)
	}
	got.Data["tls.crt"] = []byte("renewed")
	if err := kubeapi.Update(ctx, kube, kubeapi.Secrets, "apps", &got, &got); err != nil {
		t.Fatal(err)
	}
	if err := kubeapi.Get(ctx, kube, kubeapi.Secrets, "apps", "tls", &got); err != nil || string(got.Data["tls.crt"]) != "renewed" {
		t.Fatalf("after update: %q, %v", got.Data["tls.crt"], err)
	}
	sas, err := kubeapi.List[corev1.ServiceAccount](ctx, kube, kubeapi.ServiceAccounts, "", metav1.ListOptions{})
	if err != nil || len(sas) != 1 || sas[0].Name != "web" {
		t.Fatalf("list: %+v, %v", sas, err)
	}
	if err := kubeapi.Get(ctx, kube, kubeapi.Secrets, "apps", "ghost", &got); !apierrors.IsNotFound(err) {
		t.Fatalf("missing secret: %v, want NotFound", err)
	}
}

// TestGetPath reads an API server's own path over the client's
// connection, and says what answered when it is not 200.
func TestGetPath(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/openid-configuration" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(`{"issuer":"https://kube.example"}`))
	}))
	defer srv.Close()
	c, err := kubeapi.New(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if b, err := c.GetPath(ctx, "/.well-known/openid-configuration"); err != nil || string(b) != `{"issuer":"https://kube.example"}` {
		t.Fatalf("GetPath: %q, %v", b, err)
	}
	if _, err := c.GetPath(ctx, "/missing"); err == nil || err.Error() != "GET /missing: 404 Not Found" {
		t.Fatalf("GetPath of a missing path: %v", err)
	}
	if _, err := kubeapi.FromDynamic(kubeapitest.Fake(nil)).GetPath(ctx, "/x"); err == nil {
		t.Fatal("a fake's GetPath succeeded")
	}
}
