package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	kubeletv1 "k8s.io/kubelet/config/v1"
	"sigs.k8s.io/yaml"

	"github.com/ward-id/ward/internal/wardimage"
)

// TestShowInstallCredentialProviderConfig decodes what
// `ward aks show-install --credential-provider-config` prints strictly
// into the kubelet's own CredentialProviderConfig type: the plugin for
// images under the server's registry suffix, node mode args (the kubelet
// identity's client ID), and from Kubernetes 1.34 the service-account
// token block as the kubelet defines it.
func TestShowInstallCredentialProviderConfig(t *testing.T) {
	e := newVerbEnv(t)
	ctx, sub := context.Background(), e.srv.Admin.SubscriptionID
	if _, _, err := e.srv.Client.CreateOrUpdateGroup(ctx, sub, "rg", "westeurope", nil); err != nil {
		t.Fatal(err)
	}
	suffix, err := acrSuffix(ctx, e.conn)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, version string
		pods          bool
	}{
		{"before 1.34: node mode only", "1.31.1", false},
		{"1.34: pods pull as themselves", "1.34.0", true},
		{"a later minor", "1.36.3", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := "c" + strings.ReplaceAll(tc.version, ".", "")
			cl, err := e.srv.Client.PutCluster(ctx, sub, "rg", name, map[string]any{"location": "westeurope",
				"properties": map[string]any{"kubernetesVersion": tc.version, "oidcIssuerProfile": map[string]any{"enabled": true}}})
			if err != nil {
				t.Fatal(err)
			}
			kubeletID := cl.Properties.IdentityProfile["kubeletidentity"].ClientID
			if kubeletID == "" {
				t.Fatalf("cluster has no kubelet identity: %v", cl)
			}
			out, _, err := e.exec(t, &aksShowInstall{}, "-n", name, "-g", "rg", "--credential-provider-config")
			if err != nil {
				t.Fatal(err)
			}
			var cfg kubeletv1.CredentialProviderConfig
			if err := yaml.UnmarshalStrict([]byte(out), &cfg); err != nil {
				t.Fatalf("the kubelet's types refuse it: %v\n%s", err, out)
			}
			if cfg.APIVersion != "kubelet.config.k8s.io/v1" || cfg.Kind != "CredentialProviderConfig" || len(cfg.Providers) != 1 {
				t.Fatalf("config = %+v", cfg)
			}
			p := cfg.Providers[0]
			if p.Name != "ward" || p.APIVersion != "credentialprovider.kubelet.k8s.io/v1" || len(p.MatchImages) != 1 || p.MatchImages[0] != "*"+suffix {
				t.Errorf("provider = %s %s %v, want ward, v1, [*%s]", p.Name, p.APIVersion, p.MatchImages, suffix)
			}
			if p.DefaultCacheDuration == nil || p.DefaultCacheDuration.Duration != 5*time.Minute {
				t.Errorf("defaultCacheDuration = %v", p.DefaultCacheDuration)
			}
			want := []string{"acr", "credential-provider", "--ca-file", "/etc/ward/ca.pem", "--client-id", kubeletID,
				"--authority-host", e.conn.server + "/", "--tenant-id", e.srv.Admin.TenantID}
			if strings.Join(p.Args, " ") != strings.Join(want, " ") {
				t.Errorf("args = %q\nwant   %q", p.Args, want)
			}
			ta := p.TokenAttributes
			if !tc.pods {
				if ta != nil {
					t.Errorf("Kubernetes %s: tokenAttributes %+v, which its kubelet refuses", tc.version, ta)
				}
				return
			}
			if ta == nil {
				t.Fatalf("Kubernetes %s: no tokenAttributes\n%s", tc.version, out)
			}
			if ta.ServiceAccountTokenAudience != "api://AzureADTokenExchange" || ta.RequireServiceAccount == nil || *ta.RequireServiceAccount ||
				ta.CacheType != kubeletv1.ServiceAccountServiceAccountTokenCacheType {
				t.Errorf("tokenAttributes = %+v", ta)
			}
			keys := strings.Join(ta.OptionalServiceAccountAnnotationKeys, " ")
			for _, k := range []string{"azure.workload.identity/client-id", "azure.workload.identity/tenant-id", "kubernetes.azure.com/acr-client-id", "kubernetes.azure.com/acr-tenant-id"} {
				if !strings.Contains(keys, k) {
					t.Errorf("optionalServiceAccountAnnotationKeys %v lack %s", keys, k)
				}
			}
			if len(ta.RequiredServiceAccountAnnotationKeys) != 0 {
				t.Errorf("required annotations %v: a pod without one must still pull as the node", ta.RequiredServiceAccountAnnotationKeys)
			}
		})
	}
}

// TestShowInstallImage: the manifests run Ward's image by its documented
// name: --image as given; <login server>/ward:<tag> of --acr, or of the
// one registry attached to the cluster; else ward:<tag> with a note.
func TestShowInstallImage(t *testing.T) {
	e := newVerbEnv(t)
	ctx, sub := context.Background(), e.srv.Admin.SubscriptionID
	if _, _, err := e.srv.Client.CreateOrUpdateGroup(ctx, sub, "rg", "westeurope", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.srv.Client.PutCluster(ctx, sub, "rg", "c1", map[string]any{"location": "westeurope",
		"properties": map[string]any{"oidcIssuerProfile": map[string]any{"enabled": true}}}); err != nil {
		t.Fatal(err)
	}
	var servers []string
	for _, n := range []string{"imagesone", "imagestwo"} {
		r, err := e.srv.Client.PutRegistry(ctx, sub, "rg", n, map[string]any{"location": "westeurope", "sku": map[string]any{"name": "Basic"}})
		if err != nil {
			t.Fatal(err)
		}
		servers = append(servers, r.Properties.LoginServer)
	}
	tag := "/ward:" + wardimage.Tag()
	images := func(out string) []string {
		var got []string
		for _, l := range strings.Split(out, "\n") {
			if s := strings.TrimSpace(l); strings.HasPrefix(s, "image: ") {
				got = append(got, strings.TrimPrefix(s, "image: "))
			}
		}
		return got
	}
	cl := []string{"-n", "c1", "-g", "rg"}
	if _, _, err := e.exec(t, &aksShowInstall{}, append(cl, "--image", "ward:v1\n  command: [sh]")...); err == nil || !strings.Contains(err.Error(), "--image") {
		t.Fatalf("an --image that is not a reference: %v", err)
	}
	for _, st := range []struct {
		name  string
		setup []string // acr names to attach first
		args  []string
		want  string
		note  string
	}{
		{"nothing attached", nil, nil, "ward:" + wardimage.Tag(), "no registry is attached to the cluster"},
		{"--image", nil, []string{"--image", "registry.example/ward@sha256:" + strings.Repeat("a", 64)}, "registry.example/ward@sha256:" + strings.Repeat("a", 64), ""},
		{"--acr", nil, []string{"--acr", "imagestwo"}, servers[1] + tag, ""},
		{"one attached registry", []string{"imagesone"}, nil, servers[0] + tag, ""},
		{"two attached registries", []string{"imagestwo"}, nil, "ward:" + wardimage.Tag(), "several registries are attached"},
	} {
		t.Run(st.name, func(t *testing.T) {
			for _, a := range st.setup {
				if _, _, err := e.exec(t, &aksPut{}, append([]string{"--attach-acr", a}, cl...)...); err != nil {
					t.Fatal(err)
				}
			}
			out, _, err := e.exec(t, &aksShowInstall{}, append(cl, st.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			got := images(out)
			if len(got) != 2 || got[0] != st.want || got[1] != st.want {
				t.Errorf("images = %q, want the webhook's and the agent's to be %s", got, st.want)
			}
			if st.note != "" && !strings.Contains(out, st.note) {
				t.Errorf("no note %q in\n%.600s", st.note, out)
			}
		})
	}
}
