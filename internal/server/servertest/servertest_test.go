package servertest

import (
	"context"
	"errors"
	"net/http"
	"testing"
)

func TestStart(t *testing.T) {
	s := Start(t)
	if resp, _ := s.Do(t, http.MethodGet, "/healthz", "", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /healthz = %d, want 200", resp.StatusCode)
	}
	ctx := context.Background()
	if _, _, err := s.Client.CreateOrUpdateGroup(ctx, s.Admin.SubscriptionID, "rg", "westeurope", nil); err != nil {
		t.Fatalf("create group as admin: %v", err)
	}
	s.Store.Fail("PutResourceGroup", errors.New("disk on fire"))
	_, _, err := s.Client.CreateOrUpdateGroup(ctx, s.Admin.SubscriptionID, "rg2", "westeurope", nil)
	if err == nil {
		t.Fatal("create group with a failing store succeeded")
	}
}
