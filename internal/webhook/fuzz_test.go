package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	jsonpatch "github.com/evanphx/json-patch/v5"
)

// FuzzMutate: any input either is refused with a Denial or yields a patch
// that applies to it, and a second pass over the patched pod is empty.
func FuzzMutate(f *testing.F) {
	f.Add([]byte(basePod))
	f.Add([]byte(`{"metadata":{"labels":{"azure.workload.identity/use":"true"},"annotations":{"azure.workload.identity/skip-containers":"a;b"}},"spec":{"containers":[{"name":"a","env":[{"name":"AZURE_CLIENT_ID"}]},{"name":"b"}],"volumes":[]}}`))
	f.Add([]byte(`{"metadata":{"labels":{"azure.workload.identity/use":"true"}},"spec":{"serviceAccountName":"sa","containers":null,"initContainers":[{"volumeMounts":[{"name":"x","mountPath":"/var/run/secrets/azure/tokens"}]}]}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m := testMutator(testSAs(), func(c *Config) { c.MissingClientID = WarnMissingClientID })
		res, err := m.Mutate(context.Background(), "ns1", raw)
		var d *Denial
		if errors.As(err, &d) {
			return
		}
		if err != nil {
			t.Fatalf("non-denial error: %v", err)
		}
		if len(res.Patch) == 0 {
			return
		}
		b, _ := json.Marshal(res.Patch)
		p, err := jsonpatch.DecodePatch(b)
		if err != nil {
			t.Fatal(err)
		}
		out, err := p.Apply(raw)
		if err != nil {
			t.Fatalf("patch %s does not apply to %s: %v", b, raw, err)
		}
		again, err := m.Mutate(context.Background(), "ns1", out)
		if err != nil {
			t.Fatalf("second pass: %v", err)
		}
		if len(again.Patch) != 0 {
			b2, _ := json.Marshal(again.Patch)
			t.Fatalf("second pass not empty: %s\non %s", b2, out)
		}
	})
}
