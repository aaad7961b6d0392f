package arm_test

import (
	"context"
	"errors"
	"testing"

	"github.com/ward-id/ward/internal/arm"
	"github.com/ward-id/ward/internal/authn"
)

// TestPolicyStatesRefusesBeforeScanning: the scan's entry point takes only
// a subscription or group, and refuses a caller without the queryResults
// read action there before it reads anything, policy enabled or not (the
// handler here has no services). The scan itself is driven through the
// real server in internal/console and test/e2e.
func TestPolicyStatesRefusesBeforeScanning(t *testing.T) {
	h := arm.New(arm.Config{})
	sp := authn.Principal{ObjectID: "sp"}
	mi := authn.Principal{ObjectID: "mi", ManagedIdentity: "/subscriptions/s/resourceGroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/mi"}
	cases := []struct {
		name, scope string
		p           authn.Principal
		want        error
	}{
		{"root", "/", sp, arm.ErrPolicyStatesScope},
		{"empty", "", sp, arm.ErrPolicyStatesScope},
		{"a resource", "/subscriptions/s/resourceGroups/g/providers/Microsoft.KeyVault/vaults/v", sp, arm.ErrPolicyStatesScope},
		{"a collection", "/subscriptions", sp, arm.ErrPolicyStatesScope},
		{"empty segment", "/subscriptions//resourceGroups/g", sp, arm.ErrPolicyStatesScope},
		{"forbidden at the subscription", "/subscriptions/s", mi, arm.ErrPolicyStatesForbidden},
		{"forbidden at a group", "/subscriptions/s/resourceGroups/g", mi, arm.ErrPolicyStatesForbidden},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := h.PolicyStates(context.Background(), tc.p, tc.scope)
			if !errors.Is(err, tc.want) || got != nil {
				t.Errorf("PolicyStates(%q) = %v, %v; want %v", tc.scope, got, err, tc.want)
			}
		})
	}
}
