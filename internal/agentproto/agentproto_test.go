package agentproto

import (
	"errors"
	"testing"
)

func TestNodeSubjectRoundTrip(t *testing.T) {
	tests := []struct {
		pool, subject, back string
	}{
		{"nodepool1", "system:serviceaccount:ward-system:ward-agent", "nodepool1"},
		{"NodePool1", "system:serviceaccount:ward-system:ward-agent", "nodepool1"},
		{"gpu", "system:serviceaccount:ward-system:ward-agent-gpu", "gpu"},
	}
	for _, tt := range tests {
		t.Run(tt.pool, func(t *testing.T) {
			if got := NodeSubject(tt.pool); got != tt.subject {
				t.Fatalf("NodeSubject(%q) = %q, want %q", tt.pool, got, tt.subject)
			}
			if got, ok := PoolFromSubject(tt.subject); !ok || got != tt.back {
				t.Fatalf("PoolFromSubject(%q) = %q, %v; want %q, true", tt.subject, got, ok, tt.back)
			}
		})
	}
}

func TestPoolFromSubjectRefuses(t *testing.T) {
	for _, sub := range []string{
		"",
		"system:serviceaccount:default:ward-agent",        // another namespace
		"system:serviceaccount:ward-system:ward-agent-",   // empty pool
		"system:serviceaccount:ward-system:other",         // another service account
		"system:serviceaccount:ward-system:ward-agentgpu", // no separator
		"xsystem:serviceaccount:ward-system:ward-agent",   // prefix
	} {
		if pool, ok := PoolFromSubject(sub); ok {
			t.Errorf("PoolFromSubject(%q) = %q, true; want refused", sub, pool)
		}
	}
}

func TestMachineAudience(t *testing.T) {
	for in, want := range map[string]string{
		"https://ward.example:8443":  "https://ward.example:8443/ward/v1/agent",
		"https://ward.example:8443/": "https://ward.example:8443/ward/v1/agent",
	} {
		if got := MachineAudience(in); got != want {
			t.Errorf("MachineAudience(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSelect(t *testing.T) {
	sys := Identity{ClientID: "c-sys", ObjectID: "o-sys", Default: true}
	ua := Identity{ClientID: "c-ua", ObjectID: "o-ua", ResourceID: "/subscriptions/s/resourcegroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ua"}
	ua2 := Identity{ClientID: "c-ua2", ObjectID: "o-ua2", ResourceID: "/subscriptions/s/resourcegroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ua2"}
	tests := []struct {
		name                string
		ids                 []Identity
		client, object, res string
		want                string
		err                 error
	}{
		{"default", []Identity{ua, sys}, "", "", "", "c-sys", nil},
		{"by client ID, any case", []Identity{sys, ua}, "C-UA", "", "", "c-ua", nil},
		{"by object ID", []Identity{sys, ua}, "", "o-ua", "", "c-ua", nil},
		{"by resource ID, any case", []Identity{sys, ua}, "", "", "/SUBSCRIPTIONS/s/resourcegroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ua", "c-ua", nil},
		{"single user-assigned is not a default", []Identity{ua}, "", "", "", "", ErrIdentityNotFound},
		{"several, no default", []Identity{ua, ua2}, "", "", "", "", ErrAmbiguous},
		{"unknown client ID", []Identity{sys, ua}, "c-other", "", "", "", ErrIdentityNotFound},
		{"system identity has no resource ID", []Identity{sys}, "", "", "", "c-sys", nil},
		{"empty resource ID never matches", []Identity{{ClientID: "x"}}, "", "", "/x", "", ErrIdentityNotFound},
		{"none", nil, "", "", "", "", ErrIdentityNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Select(tt.ids, tt.client, tt.object, tt.res)
			if !errors.Is(err, tt.err) || got.ClientID != tt.want {
				t.Fatalf("Select(client=%q object=%q resource=%q) = %q, %v; want %q, %v", tt.client, tt.object, tt.res, got.ClientID, err, tt.want, tt.err)
			}
		})
	}
}
