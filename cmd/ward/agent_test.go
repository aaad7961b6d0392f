package main

import (
	"strings"
	"testing"

	"github.com/ward-id/ward/deploy"
	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/yaml"
)

// TestShippedAgentCommandLines parses the command lines deploy/agent ships
// (the DaemonSet's args and the systemd unit's ExecStart) with ward agent's
// own flags, so a renamed flag breaks this test and not a node.
func TestShippedAgentCommandLines(t *testing.T) {
	b, err := deploy.Agent.ReadFile("agent/daemonset.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var ds appsv1.DaemonSet
	if err := yaml.UnmarshalStrict(b, &ds); err != nil {
		t.Fatal(err)
	}
	lines := map[string][]string{"daemonset.yaml": ds.Spec.Template.Spec.Containers[0].Args}
	unit, err := deploy.Agent.ReadFile("agent/ward-agent.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(unit), "\n") {
		if rest, ok := strings.CutPrefix(l, "ExecStart=/usr/local/bin/ward "); ok {
			lines["ward-agent.service"] = strings.Fields(rest)
		}
	}
	if len(lines) != 2 {
		t.Fatalf("found %d command lines, want the DaemonSet's and the unit's", len(lines))
	}
	for name, args := range lines {
		if len(args) == 0 || args[0] != "agent" {
			t.Fatalf("%s: %v does not run ward agent", name, args)
		}
		cmd := agentCmd()
		if err := cmd.ParseFlags(args[1:]); err != nil {
			t.Errorf("%s: %v: %v", name, args, err)
		}
	}
}
