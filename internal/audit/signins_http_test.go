package audit_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ward-id/ward/client"
	"github.com/ward-id/ward/internal/server/servertest"
)

// TestSignInLogOverHTTP: a refused token request reaches the sign-in log
// API; a store that cannot write the log does not fail token requests.
func TestSignInLogOverHTTP(t *testing.T) {
	s := servertest.Start(t)
	ctx := context.Background()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {s.Admin.ClientID}, "client_secret": {"wrong"},
		"scope": {"https://management.azure.com/.default"}}.Encode()
	path := "/" + s.Admin.TenantID + "/oauth2/v2.0/token"
	resp, b := s.Do(t, "POST", path, "", strings.NewReader(form), "Content-Type", "application/x-www-form-urlencoded")
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(b), "AADSTS") {
		t.Fatalf("token with a wrong secret = %d %s, want 401 AADSTS", resp.StatusCode, b)
	}
	var found []client.SignIn
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		all, err := s.Client.ListSignIns(ctx, time.Now().Add(-time.Hour), 50)
		if err != nil {
			t.Fatal(err)
		}
		found = nil
		for _, si := range all {
			if si.AppID == s.Admin.ClientID && si.Result == "failure" {
				found = append(found, si)
			}
		}
		if len(found) > 0 {
			break
		}
	}
	if len(found) == 0 {
		t.Fatal("the refused request never reached the sign-in log")
	}

	s.Store.Fail("RecordSignIns", errors.New("disk on fire"))
	s.Store.Fail("RecordSignIn", errors.New("disk on fire"))
	defer s.Store.Heal()
	good := strings.Replace(form, "client_secret=wrong", "client_secret="+url.QueryEscape(s.Admin.ClientSecret), 1)
	resp, b = s.Do(t, "POST", path, "", strings.NewReader(good), "Content-Type", "application/x-www-form-urlencoded")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("token while the sign-in log cannot be written = %d %s, want 200", resp.StatusCode, b)
	}
}
