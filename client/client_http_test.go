package client_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/ward-id/ward/client"
	"github.com/ward-id/ward/internal/server/servertest"
)

func TestClientAgainstServer(t *testing.T) {
	s := servertest.Start(t)
	c, sub, ctx := s.Client, s.Admin.SubscriptionID, context.Background()
	steps := []struct {
		name        string
		do          func() (created bool, err error)
		wantCreated bool
		wantStatus  int // of the *client.Error, 0 for success
	}{
		{"group created", func() (bool, error) {
			_, created, err := c.CreateOrUpdateGroup(ctx, sub, "rg", "westeurope", nil)
			return created, err
		}, true, 0},
		{"group updated", func() (bool, error) {
			_, created, err := c.CreateOrUpdateGroup(ctx, sub, "rg", "westeurope", nil)
			return created, err
		}, false, 0},
		{"identity created", func() (bool, error) {
			_, created, err := c.CreateOrUpdateIdentity(ctx, sub, "rg", "app", "westeurope", map[string]string{"a": "b"})
			return created, err
		}, true, 0},
		{"identity in a missing group", func() (bool, error) {
			_, created, err := c.CreateOrUpdateIdentity(ctx, sub, "nope", "app", "westeurope", nil)
			return created, err
		}, false, http.StatusNotFound},
		{"absent identity", func() (bool, error) { _, err := c.GetIdentity(ctx, sub, "rg", "nope"); return false, err }, false, http.StatusNotFound},
		{"identity deleted", func() (bool, error) { return c.DeleteIdentity(ctx, sub, "rg", "app") }, true, 0},
		{"identity deleted again", func() (bool, error) { return c.DeleteIdentity(ctx, sub, "rg", "app") }, false, 0},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			created, err := st.do()
			if st.wantStatus == 0 {
				if err != nil || created != st.wantCreated {
					t.Fatalf("= %v, %v; want %v, nil", created, err, st.wantCreated)
				}
				return
			}
			var ce *client.Error
			if !errors.As(err, &ce) || ce.StatusCode != st.wantStatus || ce.Code == "" {
				t.Fatalf("error %v, want a *client.Error with status %d and a code", err, st.wantStatus)
			}
			if st.wantStatus == http.StatusNotFound && !client.IsNotFound(err) {
				t.Fatalf("IsNotFound(%v) = false", err)
			}
		})
	}

	s.Store.Fail("ListResourceGroups", errors.New("disk on fire"))
	defer s.Store.Heal()
	_, err := c.ListGroups(ctx, sub)
	var ce *client.Error
	if !errors.As(err, &ce) || ce.StatusCode != http.StatusInternalServerError || client.IsNotFound(err) {
		t.Fatalf("list with a failing store = %v, want a *client.Error with status 500", err)
	}
}
