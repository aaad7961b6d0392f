package rotation

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/ward-id/ward/internal/authn"
	"github.com/ward-id/ward/internal/router"
	"github.com/ward-id/ward/internal/signer"
	sqlstore "github.com/ward-id/ward/internal/storage/sql"
)

type fakeAuth struct{ err error }

func (a fakeAuth) Authenticate(context.Context, *http.Request) (authn.Principal, error) {
	return authn.Principal{ObjectID: "oid", AppID: "app"}, a.err
}

// allow is the mux's authorizer: Action at "/" for "oid" when true.
type allow bool

func (a allow) Allowed(principalID, action, scope string) bool {
	return bool(a) && principalID == "oid" && action == Action && scope == "/"
}

func (allow) AllowedData(string, string, string) bool { return false }

func TestRotate(t *testing.T) {
	ctx := context.Background()
	store, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "ward.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	keys, err := signer.New(ctx, signer.Config{Store: store, KEK: make([]byte, 32), Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		auth     fakeAuth
		allowed  allow
		want     int
		wantCode string
	}{
		{"no token", fakeAuth{err: errors.New("no token")}, true, http.StatusUnauthorized, "InvalidAuthenticationToken"},
		{"no role", fakeAuth{}, false, http.StatusForbidden, "Authorization_RequestDenied"},
		{"allowed", fakeAuth{}, true, http.StatusOK, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := keys.Signing().ID
			h := New(Config{Keys: keys, Auth: tc.auth, Base: "https://ward.test",
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			mux := router.New()
			mux.Authorizer = tc.allowed
			h.Mount(mux)
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, Path, nil))
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.want, rec.Body)
			}
			if tc.want != http.StatusOK {
				var e struct {
					Error struct{ Code string } `json:"error"`
				}
				if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Code != tc.wantCode {
					t.Fatalf("body %s, want code %s", rec.Body, tc.wantCode)
				}
				if keys.Signing().ID != before {
					t.Fatal("a refused request rotated the key")
				}
				return
			}
			var a Answer
			if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
				t.Fatal(err)
			}
			if a.KID == before || a.KID != keys.Signing().ID || len(a.Published) < 2 {
				t.Fatalf("answer %+v: want a new signing kid (was %s) and the old one still published", a, before)
			}
		})
	}
}

// TestRotateOutsideTheMux: the handler, reached without the mux's
// authentication (mounted elsewhere by mistake), refuses.
func TestRotateOutsideTheMux(t *testing.T) {
	h := New(Config{Auth: fakeAuth{}, Base: "https://ward.test", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, Path, nil))
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("status %d, want 401: %s", rec.Code, rec.Body)
	}
}
