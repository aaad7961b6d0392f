package podidmigratetest

import (
	"context"
	"testing"

	"github.com/ward-id/ward/internal/podidmigrate"
)

// TestClusterReadsAsDescribed reads Cluster the way ward migrate does: the
// tests that share it count on each object its comment names.
func TestClusterReadsAsDescribed(t *testing.T) {
	_, k := Cluster()
	in, err := podidmigrate.Read(context.Background(), k, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Identities) != 2 || len(in.Bindings) != 2 || len(in.Exceptions) != 1 {
		t.Fatalf("read %d identities, %d bindings, %d exceptions; want 2, 2, 1", len(in.Identities), len(in.Bindings), len(in.Exceptions))
	}
	owners := map[string]string{}
	for _, p := range in.Pods {
		owners[p.Name] = ""
		if p.Owner != nil {
			owners[p.Name] = p.Owner.Kind + "/" + p.Owner.Name
		}
	}
	want := map[string]string{"web-1-a": "Deployment/web", "lonely": ""}
	if len(owners) != len(want) {
		t.Fatalf("pods %v, want %v", owners, want)
	}
	for name, owner := range want {
		if got, ok := owners[name]; !ok || got != owner {
			t.Errorf("pod %s owned by %q (read: %v), want %q", name, got, ok, owner)
		}
	}
}
