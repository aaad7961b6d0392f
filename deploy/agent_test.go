package deploy

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/yaml"
)

func decodeAgent(t *testing.T, file string, into any) {
	t.Helper()
	b, err := Agent.ReadFile("agent/" + file)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(b, into); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

// TestAgentManifests decodes deploy/agent strictly into the Kubernetes API
// types and checks what the node agent needs and nothing more: host
// network, a read-only root filesystem, resource requests, its own service
// account with no API token and no RBAC, and the projected token Ward
// accepts (audience api://WardAgent).
func TestAgentManifests(t *testing.T) {
	var sa corev1.ServiceAccount
	decodeAgent(t, "serviceaccount.yaml", &sa)
	if sa.Name != "ward-agent" || sa.Namespace != "ward-system" || sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
		t.Fatalf("service account: %+v", sa.ObjectMeta)
	}
	var ds appsv1.DaemonSet
	decodeAgent(t, "daemonset.yaml", &ds)
	pod := ds.Spec.Template.Spec
	if !pod.HostNetwork || pod.ServiceAccountName != "ward-agent" || pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Fatal("the DaemonSet must use the host network and the ward-agent service account without its API token")
	}
	c := pod.Containers[0]
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("read-only root filesystem, no privilege escalation")
	}
	if sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" || len(sc.Capabilities.Add) != 2 {
		t.Errorf("capabilities: drop ALL, add only NET_BIND_SERVICE and NET_ADMIN: %+v", sc.Capabilities)
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Error("resource requests and a memory limit are required")
	}
	var token *corev1.ServiceAccountTokenProjection
	for _, v := range pod.Volumes {
		if v.Projected != nil {
			for _, s := range v.Projected.Sources {
				if s.ServiceAccountToken != nil {
					token = s.ServiceAccountToken
				}
			}
		}
	}
	if token == nil || token.Audience != "api://WardAgent" {
		t.Fatalf("projected token: %+v", token)
	}
	var np networkingv1.NetworkPolicy
	decodeAgent(t, "networkpolicy.yaml", &np)
	if np.Spec.Egress[0].To[0].IPBlock.Except[0] != "169.254.169.254/32" {
		t.Error("the example NetworkPolicy must except the metadata address")
	}
	var cm corev1.ConfigMap
	decodeAgent(t, "configmap.yaml", &cm)
	if _, ok := cm.Data["WARD_SERVER"]; !ok {
		t.Error("the ConfigMap must carry WARD_SERVER")
	}
}
