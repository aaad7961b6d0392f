package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	jsonpatch "github.com/evanphx/json-patch/v5"
)

// fakeSAs is an in-memory ServiceAccounts keyed by "namespace/name".
type fakeSAs map[string]map[string]string

func (f fakeSAs) ServiceAccount(_ context.Context, ns, name string) (*ServiceAccount, error) {
	ann, ok := f[ns+"/"+name]
	if !ok {
		return nil, ErrServiceAccountNotFound
	}
	return &ServiceAccount{Annotations: ann}, nil
}

const (
	testTenant    = "tenantID"
	testAuthority = "https://login.example.test/"
)

func testSAs() fakeSAs {
	return fakeSAs{
		"ns1/sa":      {"azure.workload.identity/client-id": "clientID", "azure.workload.identity/service-account-token-expiration": "4800"},
		"ns1/default": {"azure.workload.identity/client-id": "defaultClientID"},
		"ns1/noid":    {},
		"ns1/tenant":  {"azure.workload.identity/client-id": "clientID", "azure.workload.identity/tenant-id": "saTenant"},
		"ns1/empty":   {"azure.workload.identity/client-id": "clientID", "azure.workload.identity/tenant-id": ""},
		"ns1/badexp":  {"azure.workload.identity/client-id": "clientID", "azure.workload.identity/service-account-token-expiration": "100"},
	}
}

func testMutator(sas ServiceAccounts, opts ...func(*Config)) *Mutator {
	cfg := Config{TenantID: testTenant, AuthorityHost: "https://login.example.test", CAConfigMap: "ward-ca"}
	for _, o := range opts {
		o(&cfg)
	}
	return NewMutator(cfg, sas)
}

func env(pairs ...string) []any {
	var out []any
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, map[string]any{"name": pairs[i], "value": pairs[i+1]})
	}
	return out
}

var (
	fullEnv = env("AZURE_CLIENT_ID", "clientID", "AZURE_TENANT_ID", "tenantID",
		"AZURE_FEDERATED_TOKEN_FILE", "/var/run/secrets/azure/tokens/azure-identity-token",
		"AZURE_AUTHORITY_HOST", "https://login.example.test/")
	tokenMount = map[string]any{"name": "azure-identity-token", "mountPath": "/var/run/secrets/azure/tokens", "readOnly": true}
)

func tokenVolume(exp int) map[string]any {
	return map[string]any{"name": "azure-identity-token", "projected": map[string]any{"sources": []any{
		map[string]any{"serviceAccountToken": map[string]any{"audience": "api://AzureADTokenExchange", "expirationSeconds": float64(exp), "path": "azure-identity-token"}}}}}
}

func record(kv ...string) string {
	m := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	b, _ := json.Marshal(m)
	return string(b)
}

var fullRecord = record("AZURE_CLIENT_ID", "clientID", "AZURE_TENANT_ID", "tenantID",
	"AZURE_FEDERATED_TOKEN_FILE", "/var/run/secrets/azure/tokens/azure-identity-token", "AZURE_AUTHORITY_HOST", "https://login.example.test/")

// normalize turns ops into plain JSON values so expected lists can be
// written as literals.
func normalize(t *testing.T, ops []Op) []any {
	t.Helper()
	b, err := json.Marshal(ops)
	if err != nil {
		t.Fatal(err)
	}
	var out []any
	json.Unmarshal(b, &out)
	return out
}

func op(o, path string, v any) any {
	b, _ := json.Marshal(map[string]any{"op": o, "path": path, "value": v})
	var out any
	json.Unmarshal(b, &out)
	return out
}

const basePod = `{"metadata":{"name":"pod","namespace":"ns1","labels":{"azure.workload.identity/use":"true"}},
 "spec":{"serviceAccountName":"sa","initContainers":[{"name":"init-container","image":"init"}],"containers":[{"name":"container","image":"app"}]}}`

func TestMutatePatches(t *testing.T) {
	annOp := func(rec string) any {
		return op("add", "/metadata/annotations", map[string]any{"ward.workload.identity/injected": rec})
	}
	cases := []struct {
		name string
		pod  string
		opts func(*Config)
		want []any
		warn string
	}{
		{"labelled pod: env and mount in every container, one volume", basePod, nil, []any{
			op("add", "/spec/containers/0/env", fullEnv), op("add", "/spec/containers/0/volumeMounts", []any{tokenMount}),
			op("add", "/spec/initContainers/0/env", fullEnv), op("add", "/spec/initContainers/0/volumeMounts", []any{tokenMount}),
			op("add", "/spec/volumes", []any{tokenVolume(4800)}), annOp(fullRecord)}, ""},
		{"skip-containers and the pod's expiration win",
			strings.Replace(basePod, `"labels"`, `"annotations":{"azure.workload.identity/skip-containers":" init-container ; other","azure.workload.identity/service-account-token-expiration":"7200"},"labels"`, 1), nil, []any{
				op("add", "/spec/containers/0/env", fullEnv), op("add", "/spec/containers/0/volumeMounts", []any{tokenMount}),
				op("add", "/spec/volumes", []any{tokenVolume(7200)}),
				op("add", "/metadata/annotations/ward.workload.identity~1injected", fullRecord)}, ""},
		{"empty serviceAccountName means default",
			`{"metadata":{"labels":{"azure.workload.identity/use":"true"}},"spec":{"containers":[{"name":"c"}]}}`, nil, []any{
				op("add", "/spec/containers/0/env", env("AZURE_CLIENT_ID", "defaultClientID", "AZURE_TENANT_ID", "tenantID",
					"AZURE_FEDERATED_TOKEN_FILE", "/var/run/secrets/azure/tokens/azure-identity-token", "AZURE_AUTHORITY_HOST", "https://login.example.test/")),
				op("add", "/spec/containers/0/volumeMounts", []any{tokenMount}), op("add", "/spec/volumes", []any{tokenVolume(3600)}),
				annOp(record("AZURE_CLIENT_ID", "defaultClientID", "AZURE_TENANT_ID", "tenantID",
					"AZURE_FEDERATED_TOKEN_FILE", "/var/run/secrets/azure/tokens/azure-identity-token", "AZURE_AUTHORITY_HOST", "https://login.example.test/"))}, ""},
		{"user values are never overwritten",
			`{"metadata":{"labels":{"azure.workload.identity/use":"true"}},"spec":{"serviceAccountName":"sa","containers":[{"name":"c","env":[
			 {"name":"AZURE_CLIENT_ID","value":"mine"},{"name":"AZURE_TENANT_ID","value":"mine"},{"name":"AZURE_FEDERATED_TOKEN_FILE","value":"/mine"},
			 {"name":"AZURE_AUTHORITY_HOST","valueFrom":{"configMapKeyRef":{"name":"x","key":"y"}}}]}]}}`, nil, []any{
				op("add", "/spec/containers/0/volumeMounts", []any{tokenMount}), op("add", "/spec/volumes", []any{tokenVolume(4800)})}, ""},
		{"existing env and mounts are appended to",
			`{"metadata":{"labels":{"azure.workload.identity/use":"true"}},"spec":{"serviceAccountName":"sa","containers":[{"name":"c",
			 "env":[{"name":"MY_ENV_VAR","value":"x"}],"volumeMounts":[{"name":"data","mountPath":"/data"}]}],"volumes":[{"name":"data","emptyDir":{}}]}}`, nil, []any{
				op("add", "/spec/containers/0/env/-", fullEnv[0]), op("add", "/spec/containers/0/env/-", fullEnv[1]),
				op("add", "/spec/containers/0/env/-", fullEnv[2]), op("add", "/spec/containers/0/env/-", fullEnv[3]),
				op("add", "/spec/containers/0/volumeMounts/-", tokenMount), op("add", "/spec/volumes/-", tokenVolume(4800)), annOp(fullRecord)}, ""},
		{"empty values are not injected (warn mode, no client ID, empty tenant and authority)",
			`{"metadata":{"labels":{"azure.workload.identity/use":"true"}},"spec":{"serviceAccountName":"noid","containers":[{"name":"c"}]}}`,
			func(c *Config) { c.MissingClientID, c.TenantID, c.AuthorityHost = WarnMissingClientID, "", "" }, []any{
				op("add", "/spec/containers/0/env", env("AZURE_FEDERATED_TOKEN_FILE", "/var/run/secrets/azure/tokens/azure-identity-token")),
				op("add", "/spec/containers/0/volumeMounts", []any{tokenMount}), op("add", "/spec/volumes", []any{tokenVolume(3600)}),
				annOp(record("AZURE_FEDERATED_TOKEN_FILE", "/var/run/secrets/azure/tokens/azure-identity-token"))},
			`neither the pod nor service account "noid" in namespace "ns1" has annotation azure.workload.identity/client-id`},
		{"a pod's client-id annotation overrides the service account's; SA tenant-id wins over the default",
			`{"metadata":{"annotations":{"azure.workload.identity/client-id":"podClient"},"labels":{"azure.workload.identity/use":"true"}},"spec":{"serviceAccountName":"tenant","containers":[{"name":"c"}]}}`, nil, []any{
				op("add", "/spec/containers/0/env", env("AZURE_CLIENT_ID", "podClient", "AZURE_TENANT_ID", "saTenant",
					"AZURE_FEDERATED_TOKEN_FILE", "/var/run/secrets/azure/tokens/azure-identity-token", "AZURE_AUTHORITY_HOST", "https://login.example.test/")),
				op("add", "/spec/containers/0/volumeMounts", []any{tokenMount}), op("add", "/spec/volumes", []any{tokenVolume(3600)}),
				op("add", "/metadata/annotations/ward.workload.identity~1injected", record("AZURE_CLIENT_ID", "podClient", "AZURE_TENANT_ID", "saTenant",
					"AZURE_FEDERATED_TOKEN_FILE", "/var/run/secrets/azure/tokens/azure-identity-token", "AZURE_AUTHORITY_HOST", "https://login.example.test/"))}, ""},
		{"an empty tenant-id annotation on the SA means no AZURE_TENANT_ID",
			`{"metadata":{"labels":{"azure.workload.identity/use":"true"}},"spec":{"serviceAccountName":"empty","containers":[{"name":"c"}]}}`, nil, []any{
				op("add", "/spec/containers/0/env", env("AZURE_CLIENT_ID", "clientID",
					"AZURE_FEDERATED_TOKEN_FILE", "/var/run/secrets/azure/tokens/azure-identity-token", "AZURE_AUTHORITY_HOST", "https://login.example.test/")),
				op("add", "/spec/containers/0/volumeMounts", []any{tokenMount}), op("add", "/spec/volumes", []any{tokenVolume(3600)}),
				annOp(record("AZURE_CLIENT_ID", "clientID", "AZURE_FEDERATED_TOKEN_FILE", "/var/run/secrets/azure/tokens/azure-identity-token", "AZURE_AUTHORITY_HOST", "https://login.example.test/"))}, ""},
		{"unlabelled pod: nothing", `{"metadata":{"name":"p"},"spec":{"serviceAccountName":"sa","containers":[{"name":"c"}]}}`, nil, nil, ""},
		{"label false: nothing", `{"metadata":{"labels":{"azure.workload.identity/use":"false"}},"spec":{"serviceAccountName":"sa","containers":[{"name":"c"}]}}`, nil, nil, ""},
		{"annotation trigger for charts without pod labels",
			`{"metadata":{"annotations":{"azure.workload.identity/use":"True"}},"spec":{"serviceAccountName":"sa","containers":[{"name":"c"}]}}`, nil, []any{
				op("add", "/spec/containers/0/env", fullEnv), op("add", "/spec/containers/0/volumeMounts", []any{tokenMount}),
				op("add", "/spec/volumes", []any{tokenVolume(4800)}), op("add", "/metadata/annotations/ward.workload.identity~1injected", fullRecord)}, ""},
		{"our volume from an earlier pass with another lifetime is replaced, not duplicated",
			`{"metadata":{"labels":{"azure.workload.identity/use":"true"}},"spec":{"serviceAccountName":"sa","containers":[{"name":"c","env":[],
			 "volumeMounts":[{"name":"azure-identity-token","mountPath":"/var/run/secrets/azure/tokens","readOnly":true}]}],
			 "volumes":[{"name":"azure-identity-token","projected":{"defaultMode":420,"sources":[{"serviceAccountToken":{"audience":"api://AzureADTokenExchange","expirationSeconds":3600,"path":"azure-identity-token"}}]}}]}}`, nil, []any{
				op("add", "/spec/containers/0/env", fullEnv), op("replace", "/spec/volumes/0", tokenVolume(4800)), annOp(fullRecord)}, ""},
		{"a mount of the user's own at the token directory is left alone",
			`{"metadata":{"labels":{"azure.workload.identity/use":"true"}},"spec":{"serviceAccountName":"sa","containers":[{"name":"c",
			 "volumeMounts":[{"name":"my-token","mountPath":"/var/run/secrets/azure/tokens/"}]}],"volumes":[{"name":"my-token","emptyDir":{}}]}}`, nil, []any{
				op("add", "/spec/containers/0/env", fullEnv), op("add", "/spec/volumes/-", tokenVolume(4800)), annOp(fullRecord)},
			`container "c" already mounts volume "my-token" at /var/run/secrets/azure/tokens`},
		{"inject-ca adds Ward's CA to the volume and SSL_CERT_FILE",
			`{"metadata":{"annotations":{"azure.workload.identity/inject-ca":"true"},"labels":{"azure.workload.identity/use":"true"}},"spec":{"serviceAccountName":"sa","containers":[{"name":"c"}]}}`, nil, []any{
				op("add", "/spec/containers/0/env", append(append([]any{}, fullEnv...), env("SSL_CERT_FILE", "/var/run/secrets/azure/tokens/ca.crt")...)),
				op("add", "/spec/containers/0/volumeMounts", []any{tokenMount}),
				op("add", "/spec/volumes", []any{map[string]any{"name": "azure-identity-token", "projected": map[string]any{"sources": []any{
					map[string]any{"serviceAccountToken": map[string]any{"audience": "api://AzureADTokenExchange", "expirationSeconds": 4800, "path": "azure-identity-token"}},
					map[string]any{"configMap": map[string]any{"name": "ward-ca", "items": []any{map[string]any{"key": "ca.crt", "path": "ca.crt"}}}}}}}}),
				op("add", "/metadata/annotations/ward.workload.identity~1injected", record("AZURE_CLIENT_ID", "clientID", "AZURE_TENANT_ID", "tenantID",
					"AZURE_FEDERATED_TOKEN_FILE", "/var/run/secrets/azure/tokens/azure-identity-token", "AZURE_AUTHORITY_HOST", "https://login.example.test/",
					"SSL_CERT_FILE", "/var/run/secrets/azure/tokens/ca.crt"))}, ""},
		{"custom audience", `{"metadata":{"labels":{"azure.workload.identity/use":"true"}},"spec":{"serviceAccountName":"default","containers":[{"name":"c","env":[{"name":"AZURE_CLIENT_ID","value":"x"},{"name":"AZURE_TENANT_ID","value":"x"},{"name":"AZURE_FEDERATED_TOKEN_FILE","value":"x"},{"name":"AZURE_AUTHORITY_HOST","value":"x"}],"volumeMounts":[{"name":"azure-identity-token","mountPath":"/x"}]}]}}`,
			func(c *Config) { c.Audience = "api://ward" }, []any{
				op("add", "/spec/volumes", []any{map[string]any{"name": "azure-identity-token", "projected": map[string]any{"sources": []any{
					map[string]any{"serviceAccountToken": map[string]any{"audience": "api://ward", "expirationSeconds": 3600, "path": "azure-identity-token"}}}}}})}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var opts []func(*Config)
			if tc.opts != nil {
				opts = append(opts, tc.opts)
			}
			res, err := testMutator(testSAs(), opts...).Mutate(context.Background(), "ns1", []byte(tc.pod))
			if err != nil {
				t.Fatalf("Mutate: %v", err)
			}
			if got := normalize(t, res.Patch); !reflect.DeepEqual(got, normalizeAny(tc.want)) {
				g, _ := json.MarshalIndent(got, "", " ")
				w, _ := json.MarshalIndent(tc.want, "", " ")
				t.Fatalf("patch\n got: %s\nwant: %s", g, w)
			}
			if tc.warn == "" && len(res.Warnings) > 0 || tc.warn != "" && (len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], tc.warn)) {
				t.Fatalf("warnings %q, want one containing %q", res.Warnings, tc.warn)
			}
			if len(res.Patch) > 0 {
				apply(t, []byte(tc.pod), res.Patch) // the patch applies cleanly
			}
		})
	}
}

func normalizeAny(v []any) []any {
	if v == nil {
		return nil
	}
	b, _ := json.Marshal(v)
	var out []any
	json.Unmarshal(b, &out)
	return out
}

func apply(t *testing.T, doc []byte, ops []Op) []byte {
	t.Helper()
	b, _ := json.Marshal(ops)
	p, err := jsonpatch.DecodePatch(b)
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.Apply(doc)
	if err != nil {
		t.Fatalf("apply patch %s: %v", b, err)
	}
	return out
}

func TestMutateDenials(t *testing.T) {
	pod := func(sa, ann string) string {
		return `{"metadata":{"annotations":{` + ann + `},"labels":{"azure.workload.identity/use":"true"}},"spec":{"serviceAccountName":"` + sa + `","containers":[{"name":"c"}]}}`
	}
	cases := []struct {
		name, pod, want string
		opts            func(*Config)
	}{
		{"undecodable", `invalid`, "couldn't decode the pod", nil},
		{"missing service account", pod("missing", ""), `serviceaccounts "missing" not found`, nil},
		{"pod expiration not an integer", pod("sa", `"azure.workload.identity/service-account-token-expiration":"invalid"`), `strconv.ParseInt: parsing "invalid": invalid syntax`, nil},
		{"pod expiration with a unit", pod("sa", `"azure.workload.identity/service-account-token-expiration":"3600s"`), `"3600s" is not a whole number of seconds`, nil},
		{"pod expiration below range", pod("sa", `"azure.workload.identity/service-account-token-expiration":"3599"`), "on the pod: 3599 is out of range", nil},
		{"pod expiration above range", pod("sa", `"azure.workload.identity/service-account-token-expiration":"86401"`), "86401 is out of range", nil},
		{"SA expiration out of range", pod("badexp", ""), "on the service account: 100 is out of range", nil},
		{"no client ID anywhere (deny is the default)", pod("noid", ""), `neither the pod nor service account "noid"`, nil},
		{"boolean annotations are parsed", pod("sa", `"azure.workload.identity/inject-ca":"yes"`), `"yes" is not a boolean`, nil},
		{"inject-ca without a CA configured", pod("sa", `"azure.workload.identity/inject-ca":"true"`), "without --ca-configmap", func(c *Config) { c.CAConfigMap = "" }},
		{"volume name taken by something else",
			`{"metadata":{"labels":{"azure.workload.identity/use":"true"}},"spec":{"serviceAccountName":"sa","containers":[{"name":"c"}],"volumes":[{"name":"azure-identity-token","emptyDir":{}}]}}`,
			`already has a volume named "azure-identity-token"`, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var opts []func(*Config)
			if tc.opts != nil {
				opts = append(opts, tc.opts)
			}
			_, err := testMutator(testSAs(), opts...).Mutate(context.Background(), "ns1", []byte(tc.pod))
			var d *Denial
			if !errors.As(err, &d) || !strings.Contains(d.Message, tc.want) {
				t.Fatalf("err = %v, want a denial containing %q", err, tc.want)
			}
		})
	}
}

// TestUnknownFieldsSurvive: a pod full of fields this code has never
// modelled (native sidecar restartPolicy, pod-level resources, a field from
// the future) comes out with each of them byte-for-byte, because the patch
// only adds.
func TestUnknownFieldsSurvive(t *testing.T) {
	pod := `{"apiVersion":"v1","kind":"Pod","futureTopLevel":{"x":[1,2,{"y":null}]},
	 "metadata":{"name":"p","labels":{"azure.workload.identity/use":"true"},"annotations":{"keep":"me"}},
	 "spec":{"serviceAccountName":"sa","resources":{"limits":{"cpu":"2"}},"futureSpecField":true,
	  "initContainers":[{"name":"sidecar","image":"s","restartPolicy":"Always","futureContainerField":{"a":1}}],
	  "containers":[{"name":"app","image":"a","resizePolicy":[{"resourceName":"cpu","restartPolicy":"NotRequired"}],
	   "env":[{"name":"A","value":"1","futureEnvField":"z"}]}],
	  "volumes":[{"name":"v","emptyDir":{},"futureVolumeField":1}]}}`
	res, err := testMutator(testSAs()).Mutate(context.Background(), "ns1", []byte(pod))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range res.Patch {
		if o.Op != "add" {
			t.Fatalf("non-add op %+v on a fresh pod", o)
		}
	}
	out := apply(t, []byte(pod), res.Patch)
	var before, after map[string]any
	json.Unmarshal([]byte(pod), &before)
	json.Unmarshal(out, &after)
	// Take Ward's additions back out; what remains must equal the input.
	spec := after["spec"].(map[string]any)
	spec["volumes"] = spec["volumes"].([]any)[:1]
	init := spec["initContainers"].([]any)[0].(map[string]any)
	delete(init, "env")
	delete(init, "volumeMounts")
	app := spec["containers"].([]any)[0].(map[string]any)
	app["env"] = app["env"].([]any)[:1]
	delete(app, "volumeMounts")
	delete(after["metadata"].(map[string]any)["annotations"].(map[string]any), "ward.workload.identity/injected")
	if !reflect.DeepEqual(before, after) {
		b, _ := json.Marshal(after)
		t.Fatalf("fields changed:\n in: %s\nout: %s", pod, b)
	}
	if !strings.Contains(string(out), `"restartPolicy":"Always"`) || !strings.Contains(string(out), `"futureTopLevel"`) {
		t.Fatalf("lost fields: %s", out)
	}
}

// TestReinvocation: the API server may call the webhook again after other
// webhooks ran. A second pass changes nothing, covers containers other
// webhooks added, refreshes what Ward injected when the service account
// changed, and never touches the user's values or duplicates the volume.
func TestReinvocation(t *testing.T) {
	sas := testSAs()
	m := testMutator(sas)
	ctx := context.Background()
	pod := `{"metadata":{"generateName":"web-","labels":{"azure.workload.identity/use":"true"}},"spec":{"serviceAccountName":"sa",
	 "containers":[{"name":"app"},{"name":"pinned","env":[{"name":"AZURE_CLIENT_ID","value":"pinned-by-user"}]}]}}`
	res, err := m.Mutate(ctx, "ns1", []byte(pod))
	if err != nil {
		t.Fatal(err)
	}
	once := apply(t, []byte(pod), res.Patch)

	t.Run("idempotent", func(t *testing.T) {
		res, err := m.Mutate(ctx, "ns1", once)
		if err != nil || len(res.Patch) != 0 {
			t.Fatalf("second pass: %+v, %v", res.Patch, err)
		}
	})
	t.Run("name set between passes (generateName to name)", func(t *testing.T) {
		named := apply(t, once, []Op{{"add", "/metadata/name", "web-x7k2"}})
		res, err := m.Mutate(ctx, "ns1", named)
		if err != nil || len(res.Patch) != 0 {
			t.Fatalf("second pass: %+v, %v", res.Patch, err)
		}
	})
	t.Run("container added by another webhook", func(t *testing.T) {
		withSidecar := apply(t, once, []Op{{"add", "/spec/containers/-", map[string]any{"name": "istio-proxy"}}})
		res, err := m.Mutate(ctx, "ns1", withSidecar)
		if err != nil {
			t.Fatal(err)
		}
		want := normalizeAny([]any{op("add", "/spec/containers/2/env", fullEnv), op("add", "/spec/containers/2/volumeMounts", []any{tokenMount})})
		if got := normalize(t, res.Patch); !reflect.DeepEqual(got, want) {
			t.Fatalf("patch %v\nwant %v", got, want)
		}
	})
	t.Run("service account changed by another webhook", func(t *testing.T) {
		sas["ns1/other"] = map[string]string{"azure.workload.identity/client-id": "otherClient", "azure.workload.identity/tenant-id": "otherTenant"}
		moved := apply(t, once, []Op{{"replace", "/spec/serviceAccountName", "other"}})
		res, err := m.Mutate(ctx, "ns1", moved)
		if err != nil {
			t.Fatal(err)
		}
		want := normalizeAny([]any{
			op("replace", "/spec/containers/0/env/0/value", "otherClient"), op("replace", "/spec/containers/0/env/1/value", "otherTenant"),
			op("replace", "/spec/containers/1/env/1/value", "otherTenant"), // the pinned client ID is the user's and stays
			op("replace", "/spec/volumes/0", tokenVolume(3600)),
			op("add", "/metadata/annotations/ward.workload.identity~1injected", record("AZURE_CLIENT_ID", "otherClient", "AZURE_TENANT_ID", "otherTenant",
				"AZURE_FEDERATED_TOKEN_FILE", "/var/run/secrets/azure/tokens/azure-identity-token", "AZURE_AUTHORITY_HOST", "https://login.example.test/")),
		})
		if got := normalize(t, res.Patch); !reflect.DeepEqual(got, want) {
			g, _ := json.MarshalIndent(got, "", " ")
			t.Fatalf("patch %s", g)
		}
		twice := apply(t, moved, res.Patch)
		if res, _ := m.Mutate(ctx, "ns1", twice); len(res.Patch) != 0 {
			t.Fatalf("third pass not idempotent: %+v", res.Patch)
		}
	})
}

func TestSkipContainers(t *testing.T) {
	for in, want := range map[string][]string{"": nil, "container1": {"container1"}, "container1;container2": {"container1", "container2"},
		"container1; container2": {"container1", "container2"}, " ; ;x": {"x"}} {
		got := SkipContainers(in)
		if len(got) != len(want) {
			t.Fatalf("%q: %v, want %v", in, got, want)
		}
		for _, w := range want {
			if !got[w] {
				t.Fatalf("%q: %v, want %v", in, got, want)
			}
		}
	}
}

func TestTokenExpiration(t *testing.T) {
	const k = "azure.workload.identity/service-account-token-expiration"
	cases := []struct {
		pod, sa string
		want    int64
		err     bool
	}{
		{"", "", 3600, false}, {"3600s", "", 0, true}, {"", "3600s", 0, true}, {"3599", "", 0, true}, {"86401", "", 0, true},
		{"", "4800", 4800, false}, {"4000", "4800", 4000, false}, {"86400", "", 86400, false}, {"99999999999999999999", "", 0, true},
	}
	for _, tc := range cases {
		got, err := tokenExpiration(map[string]string{k: tc.pod}, map[string]string{k: tc.sa})
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("pod %q sa %q: %d, %v; want %d, err %v", tc.pod, tc.sa, got, err, tc.want, tc.err)
		}
	}
}
