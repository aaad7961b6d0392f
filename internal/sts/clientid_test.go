package sts

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"github.com/ward-id/ward/internal/audit"
	"github.com/ward-id/ward/internal/storage"
)

// recorder keeps the sign-in records it is given.
type recorder struct {
	mu   sync.Mutex
	recs []storage.SignIn
}

func (r *recorder) Record(s storage.SignIn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, s)
}

func (r *recorder) last(t *testing.T) storage.SignIn {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.recs) == 0 {
		t.Fatal("no sign-in recorded")
	}
	return r.recs[len(r.recs)-1]
}

func secretRequest(clientID, secret string) TokenRequest {
	return TokenRequest{Tenant: tenant, Source: "192.0.2.9", Form: formOf(url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID},
		"client_secret": {secret}, "scope": {"https://management.azure.com/.default"}})}
}

func TestClientIDThatIsNotAGUIDIsRefused(t *testing.T) {
	e := newEnv(t, jose.RS256)
	rec := &recorder{}
	e.svc.signIns = rec
	huge := strings.Repeat("x", 60_000)
	cases := []struct {
		name, clientID string
	}{
		{"short name", "my-app"},
		{"huge", huge},
		{"guid with braces", "{" + appID + "}"},
		{"guid with suffix", appID + "0"},
		{"unknown guid", "77777777-7777-7777-7777-777777777777"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.svc.Token(context.Background(), secretRequest(tc.clientID, e.secret))
			var te *Error
			if !errors.As(err, &te) || te.Code != CodeUnknownClient || te.OAuth != errUnauthorizedClient || te.Status != http.StatusBadRequest {
				t.Fatalf("client_id of %d bytes: %v, want AADSTS700016 unauthorized_client", len(tc.clientID), err)
			}
			if !strings.HasPrefix(te.Message, "Application with identifier '") || len(te.Message) > 2*storage.MaxLogIDBytes+400 {
				t.Errorf("message of %d bytes: %.120q", len(te.Message), te.Message)
			}
			got := rec.last(t)
			if got.ErrorCode != CodeUnknownClient || got.Source != "192.0.2.9" || got.Result != "failure" {
				t.Errorf("recorded %+v", got)
			}
			if b := got.Bounded(); len(b.ClientID) > storage.MaxLogIDBytes || len(b.Reason) > storage.MaxLogReasonBytes {
				t.Errorf("bounded record: client ID %d bytes, reason %d bytes", len(b.ClientID), len(b.Reason))
			}
		})
	}
	// A real client ID still gets its token, in any letter case.
	if _, err := e.svc.Token(context.Background(), secretRequest(strings.ToUpper(appID), e.secret)); err != nil {
		t.Fatalf("known client: %v", err)
	}
}

// TestRefusalFloodIsOneRow sends what the issue measured (200 refused
// requests with a 60,000-character client ID) through the real sign-in
// log and store.
func TestRefusalFloodIsOneRow(t *testing.T) {
	e := newEnv(t, jose.RS256)
	log := audit.New(audit.Config{Store: e.svc.store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	e.svc.signIns = log
	huge := strings.Repeat("x", 60_000)
	for i := 0; i < 200; i++ {
		if _, err := e.svc.Token(context.Background(), secretRequest(huge, "s")); code(err) != CodeUnknownClient {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	log.Close()
	rows, err := e.svc.store.ListSignIns(context.Background(), e.now.Add(-1), 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Count != 200 || len(rows[0].ClientID) > storage.MaxLogIDBytes || rows[0].Source != "192.0.2.9" {
		t.Fatalf("%d rows, first %+.200v", len(rows), rows)
	}
}

func TestHandlerRecordsTheSource(t *testing.T) {
	e := newEnv(t, jose.RS256)
	rec := &recorder{}
	e.svc.signIns = rec
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"nope"}, "client_secret": {"s"}, "scope": {"https://management.azure.com/.default"}}
	r := httptest.NewRequest(http.MethodPost, "/"+tenant+"/oauth2/v2.0/token", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.RemoteAddr = "[2001:db8::1]:51234"
	w := httptest.NewRecorder()
	NewHandler(HandlerConfig{Svc: e.svc}).ServeHTTP(w, r)
	var body struct {
		Error      string `json:"error"`
		ErrorCodes []int  `json:"error_codes"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code != http.StatusBadRequest || body.Error != "unauthorized_client" || len(body.ErrorCodes) != 1 || body.ErrorCodes[0] != CodeUnknownClient {
		t.Fatalf("response %d %s", w.Code, w.Body)
	}
	if got := rec.last(t).Source; got != "2001:db8::1" {
		t.Errorf("source %q, want 2001:db8::1", got)
	}
}
