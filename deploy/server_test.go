package deploy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"
)

func decodeStrict(t *testing.T, file string, into any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("server", file))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(b, into); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

// TestServerManifests decodes deploy/server strictly into the Kubernetes
// API types and checks what running several replicas needs: at least two
// replicas, the KEK and DSN from a Secret, probes on /healthz and /readyz,
// a non-root read-only container, a PodDisruptionBudget that keeps one.
func TestServerManifests(t *testing.T) {
	var d appsv1.Deployment
	decodeStrict(t, "deployment.yaml", &d)
	if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
		t.Fatalf("replicas = %v", d.Spec.Replicas)
	}
	c := d.Spec.Template.Spec.Containers[0]
	args := strings.Join(c.Args, " ")
	for _, want := range []string{"serve", "--storage=postgres", "--dsn=$(WARD_DSN)", "--public-url="} {
		if !strings.Contains(args, want) {
			t.Errorf("args %q lack %q", args, want)
		}
	}
	secrets := map[string]bool{}
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			secrets[e.Name] = true
		}
	}
	if !secrets["WARD_KEK"] || !secrets["WARD_DSN"] {
		t.Errorf("KEK and DSN must come from a Secret: %v", secrets)
	}
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" || c.LivenessProbe == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Error("probes must be /readyz (readiness) and /healthz (liveness)")
	}
	if c.ReadinessProbe.HTTPGet.Scheme != corev1.URISchemeHTTPS {
		t.Error("Ward serves HTTPS only")
	}
	sc := c.SecurityContext
	pod := d.Spec.Template.Spec.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || pod == nil || pod.RunAsNonRoot == nil || !*pod.RunAsNonRoot {
		t.Error("the container must run as non-root on a read-only root filesystem")
	}
	var pdb policyv1.PodDisruptionBudget
	decodeStrict(t, "pdb.yaml", &pdb)
	if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() < 1 {
		t.Error("the PodDisruptionBudget must keep a replica")
	}
	var svc corev1.Service
	decodeStrict(t, "service.yaml", &svc)
	if svc.Spec.Selector["app.kubernetes.io/name"] != d.Spec.Template.Labels["app.kubernetes.io/name"] {
		t.Error("the Service does not select the Deployment's pods")
	}
	var sec corev1.Secret
	decodeStrict(t, "secret.example.yaml", &sec)
	if _, ok := sec.StringData["kek"]; !ok {
		t.Error("the example Secret must name the key kek")
	}
}
