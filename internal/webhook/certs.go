package webhook

import (
	"bytes"
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"

	"github.com/ward-id/ward/internal/kubeapi"
	"github.com/ward-id/ward/internal/pki"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
)

// certHolder is the serving certificate, swapped without restart.
type certHolder struct {
	cur atomic.Pointer[tls.Certificate]
}

// GetCertificate is for tls.Config.
func (h *certHolder) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	if c := h.cur.Load(); c != nil {
		return c, nil
	}
	return nil, fmt.Errorf("webhook: no serving certificate yet")
}

// Ready reports whether a certificate is loaded.
func (h *certHolder) Ready() bool { return h.cur.Load() != nil }

// DirCertificate serves tls.crt and tls.key from a directory (a mounted
// kubernetes.io/tls Secret, cert-manager's output) and reloads them when
// their content changes, keeping the old pair if the new one is unusable.
type DirCertificate struct {
	certHolder
	dir  string
	last []byte
	log  *slog.Logger
}

// NewDirCertificate loads the pair once; it fails if it cannot.
func NewDirCertificate(dir string, log *slog.Logger) (*DirCertificate, error) {
	d := &DirCertificate{dir: dir, log: log}
	if err := d.reload(); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *DirCertificate) reload() error {
	crt, err := os.ReadFile(filepath.Join(d.dir, "tls.crt"))
	if err != nil {
		return fmt.Errorf("read serving certificate: %w (give --cert-dir a directory with tls.crt and tls.key, or use --self-signed)", err)
	}
	key, err := os.ReadFile(filepath.Join(d.dir, "tls.key"))
	if err != nil {
		return fmt.Errorf("read serving key: %w", err)
	}
	both := append(slices.Clip(crt), key...)
	if bytes.Equal(both, d.last) {
		return nil
	}
	pair, err := tls.X509KeyPair(crt, key)
	if err != nil {
		return fmt.Errorf("load %s: %w", d.dir, err)
	}
	d.cur.Store(&pair)
	d.last = both
	return nil
}

// Run polls the directory until ctx ends. Secret volumes change by an
// atomic symlink swap, so reading both files and comparing is enough.
func (d *DirCertificate) Run(ctx context.Context, every time.Duration) {
	repeat(ctx, every, func() {
		if err := d.reload(); err != nil {
			d.log.Error("webhook: keeping the previous certificate", "err", err)
		}
	})
}

// repeat calls fn every interval until ctx ends.
func repeat(ctx context.Context, every time.Duration, fn func()) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}

// SelfSigned creates the webhook's own CA and serving certificate, keeps
// them in a Secret shared by every replica, renews the serving certificate
// before it expires, and keeps caBundle in the MutatingWebhookConfiguration
// current. The configuration is changed with a JSON patch of the caBundle
// fields alone, so labels and annotations others put on it survive.
type SelfSigned struct {
	certHolder
	Client            dynamic.Interface
	Namespace         string
	SecretName        string
	ServiceName       string
	WebhookConfigName string
	// ExtraHosts are added to the certificate (IPs or DNS names), for a
	// webhook reached by URL rather than through its Service.
	ExtraHosts []string
	Now        func() time.Time
	Logger     *slog.Logger
	caPEM      atomic.Pointer[[]byte]
}

// Secret keys: the kubernetes.io/tls pair plus the CA and its key, which
// the replicas need to renew the serving certificate.
const (
	secretCA    = "ca.crt"
	secretCAKey = "ca.key"
)

func (s *SelfSigned) hosts() []string {
	h := []string{s.ServiceName, s.ServiceName + "." + s.Namespace, s.ServiceName + "." + s.Namespace + ".svc",
		s.ServiceName + "." + s.Namespace + ".svc.cluster.local"}
	return append(h, s.ExtraHosts...)
}

func (s *SelfSigned) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// CABundle is the PEM CA the API server must trust (nil before the first sync).
func (s *SelfSigned) CABundle() []byte {
	if p := s.caPEM.Load(); p != nil {
		return *p
	}
	return nil
}

// Run syncs once, then every interval until ctx ends. The first sync's
// error is returned; later ones are logged and retried.
func (s *SelfSigned) Run(ctx context.Context, every time.Duration, started chan<- error) {
	err := s.Sync(ctx)
	started <- err
	if err != nil {
		return
	}
	repeat(ctx, every, func() {
		if err := s.Sync(ctx); err != nil {
			s.Logger.Error("webhook: certificate sync failed; retrying", "err", err)
		}
	})
}

// Sync makes the Secret hold a valid pair, loads it, and writes caBundle.
func (s *SelfSigned) Sync(ctx context.Context) error {
	sec := new(corev1.Secret)
	err := kubeapi.Get(ctx, s.Client, kubeapi.Secrets, s.Namespace, s.SecretName, sec)
	switch {
	case apierrors.IsNotFound(err):
		data, err := s.issue(nil)
		if err != nil {
			return err
		}
		want := &corev1.Secret{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
			ObjectMeta: metav1.ObjectMeta{Name: s.SecretName, Namespace: s.Namespace}, Type: corev1.SecretTypeTLS, Data: data}
		err = kubeapi.Create(ctx, s.Client, kubeapi.Secrets, s.Namespace, want, sec)
		if apierrors.IsAlreadyExists(err) { // another replica won the race: use theirs
			err = kubeapi.Get(ctx, s.Client, kubeapi.Secrets, s.Namespace, s.SecretName, sec)
		}
		if err != nil {
			return fmt.Errorf("create secret %s/%s: %w", s.Namespace, s.SecretName, err)
		}
	case err != nil:
		return fmt.Errorf("read secret %s/%s: %w", s.Namespace, s.SecretName, err)
	}
	if !s.usable(sec.Data) {
		data, err := s.issue(sec.Data)
		if err != nil {
			return err
		}
		sec.Data = data
		if err := kubeapi.Update(ctx, s.Client, kubeapi.Secrets, s.Namespace, sec, sec); err != nil {
			return fmt.Errorf("renew certificate in secret %s/%s: %w", s.Namespace, s.SecretName, err)
		}
		s.Logger.Info("webhook: issued a new serving certificate", "secret", s.Namespace+"/"+s.SecretName)
	}
	pair, err := tls.X509KeyPair(sec.Data[corev1.TLSCertKey], sec.Data[corev1.TLSPrivateKeyKey])
	if err != nil {
		return fmt.Errorf("secret %s/%s: %w", s.Namespace, s.SecretName, err)
	}
	s.cur.Store(&pair)
	ca := sec.Data[secretCA]
	s.caPEM.Store(&ca)
	return s.injectCABundle(ctx, ca)
}

// usable: a parsable pair covering every host, valid for 30 more days,
// signed by the CA in the Secret.
func (s *SelfSigned) usable(data map[string][]byte) bool {
	pair, err := tls.X509KeyPair(data[corev1.TLSCertKey], data[corev1.TLSPrivateKeyKey])
	if err != nil || pair.Leaf == nil {
		return false
	}
	leaf := pair.Leaf
	if !pki.Covers(leaf, s.hosts(), s.now()) {
		return false
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(data[secretCA]) {
		return false
	}
	_, err = leaf.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: s.now()})
	return err == nil
}

// issue returns Secret data with a serving certificate, re-using the CA in
// old when it is valid for another year (so caBundle does not change).
func (s *SelfSigned) issue(old map[string][]byte) (map[string][]byte, error) {
	now := s.now()
	var ca *x509.Certificate
	var caKey crypto.Signer
	pair, err := tls.X509KeyPair(old[secretCA], old[secretCAKey])
	if k, ok := pair.PrivateKey.(crypto.Signer); err == nil && ok && pair.Leaf != nil && now.AddDate(1, 0, 0).Before(pair.Leaf.NotAfter) {
		ca, caKey = pair.Leaf, k
	} else {
		c, k, err := pki.NewCA("ward-webhook-ca", "Ward", now, 10*365*24*time.Hour)
		if err != nil {
			return nil, err
		}
		ca, caKey = c, k
	}
	der, key, err := pki.IssueServing(ca, caKey, s.ServiceName+"."+s.Namespace+".svc", s.hosts(), now, 365*24*time.Hour)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	caKeyDER, err := x509.MarshalPKCS8PrivateKey(caKey)
	if err != nil {
		return nil, err
	}
	return map[string][]byte{
		corev1.TLSCertKey:       pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		corev1.TLSPrivateKeyKey: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		secretCA:                pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw}),
		secretCAKey:             pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: caKeyDER}),
	}, nil
}

// injectCABundle patches only the caBundle of each webhook that lacks it.
func (s *SelfSigned) injectCABundle(ctx context.Context, ca []byte) error {
	if s.WebhookConfigName == "" {
		return nil
	}
	cfg := new(admissionv1.MutatingWebhookConfiguration)
	err := kubeapi.Get(ctx, s.Client, kubeapi.MutatingWebhookConfigurations, "", s.WebhookConfigName, cfg)
	if apierrors.IsNotFound(err) {
		// Not applied yet (the Deployment may start first); the next sync
		// writes the bundle.
		s.Logger.Info("webhook: MutatingWebhookConfiguration not found yet; will write caBundle when it appears", "name", s.WebhookConfigName)
		return nil
	}
	if err != nil {
		return fmt.Errorf("read MutatingWebhookConfiguration %s: %w", s.WebhookConfigName, err)
	}
	var ops []Op
	for i, wh := range cfg.Webhooks {
		if !bytes.Equal(wh.ClientConfig.CABundle, ca) {
			// A test op pins the webhook's name at that index, so a concurrent
			// edit that reorders webhooks fails the patch instead of
			// writing the bundle into the wrong entry.
			ops = append(ops, Op{"test", fmt.Sprintf("/webhooks/%d/name", i), wh.Name},
				Op{"add", fmt.Sprintf("/webhooks/%d/clientConfig/caBundle", i), base64.StdEncoding.EncodeToString(ca)})
		}
	}
	if len(ops) == 0 {
		return nil
	}
	patch, _ := json.Marshal(ops)
	if _, err := s.Client.Resource(kubeapi.MutatingWebhookConfigurations).Patch(ctx, s.WebhookConfigName, types.JSONPatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("write caBundle to MutatingWebhookConfiguration %s: %w", s.WebhookConfigName, err)
	}
	s.Logger.Info("webhook: caBundle updated", "configuration", s.WebhookConfigName)
	return nil
}
