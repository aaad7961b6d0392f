package main

import (
	"bytes"
	"flag"
	"os"
	"testing"
)

var updateReference = flag.Bool("update", false, "rewrite docs/cli.md from the command tree")

// TestCLIReference: docs/cli.md is what the command tree says; a flag or
// command added without regenerating it fails here.
func TestCLIReference(t *testing.T) {
	var b bytes.Buffer
	if err := writeReference(&b, newRoot()); err != nil {
		t.Fatal(err)
	}
	const path = "../../docs/cli.md"
	if *updateReference {
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v: run go test ./cmd/ward -run TestCLIReference -update", err)
	}
	if !bytes.Equal(got, b.Bytes()) {
		t.Fatal("docs/cli.md is not what the command tree says: run go test ./cmd/ward -run TestCLIReference -update")
	}
	for _, want := range []string{"## ward serve\n", "## ward role assignment create\n", "--memory-limit", "## ward aks get-credentials\n"} {
		if !bytes.Contains(got, []byte(want)) {
			t.Errorf("docs/cli.md lacks %q", want)
		}
	}
}
