package server

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ward-id/ward/internal/router"
)

var updateDocs = flag.Bool("update", false, "rewrite docs/routes.md from the route table")

// routesDoc renders the route table as the Markdown page docs/routes.md:
// each route's authenticator and rule as the mux enforces them.
func routesDoc(mux *router.Mux) string {
	var b strings.Builder
	b.WriteString("# Ward's routes and who may call them\n\n")
	b.WriteString("Generated from the server's routing table by `go test ./internal/server -run TestRoutesDoc -update`;\n")
	b.WriteString("the test fails when this page and the table differ. Literal segments match in any case;\n")
	b.WriteString("`{name...}` is a scope of zero or more segments; `vault:` routes serve vault host names.\n\n")
	b.WriteString("The router enforces every rule before the route's handler runs: it authenticates the caller with the\n")
	b.WriteString("route's protocol's authenticator (the \"authenticated by\" column) and checks an action with the one authorizer, the\n")
	b.WriteString("RBAC index every plane shares; a refusal is answered in the protocol's own envelope. Where the rule\n")
	b.WriteString("says \"the handler\", the handler decides per object after that.\n\n")
	b.WriteString("| method | path | authenticated by | who may call it |\n|---|---|---|---|\n")
	for _, r := range mux.Routes() {
		p := r.Pattern
		if r.Host != "" {
			p = r.Host + ":" + p
		}
		by := mux.Guard(r)
		if by == "" {
			by = "—"
		}
		b.WriteString("| " + r.Method + " | `" + p + "` | " + by + " | " + strings.ReplaceAll(mux.Describe(r), "|", "\\|") + " |\n")
	}
	return b.String()
}

// TestRoutesDoc keeps docs/routes.md equal to the table the server mounts,
// and checks every route declares a rule (the mux refuses others).
func TestRoutesDoc(t *testing.T) {
	s, err := New(context.Background(), Config{Addr: "127.0.0.1:0", DataDir: filepath.Join(t.TempDir(), "d"),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	doc := routesDoc(s.mux)
	path := filepath.Join("..", "..", "docs", "routes.md")
	if *updateDocs {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != doc {
		t.Fatalf("docs/routes.md differs from the route table: run go test ./internal/server -run TestRoutesDoc -update")
	}
}

// TestEveryRouteIsGuarded: every route that is not public is enforced by
// the router (its protocol registered an authenticator), so no handler
// authenticates or authorizes on its own.
func TestEveryRouteIsGuarded(t *testing.T) {
	s, err := New(context.Background(), Config{Addr: "127.0.0.1:0", DataDir: filepath.Join(t.TempDir(), "d"),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, r := range s.Routes() {
		if r.Access.Kind != router.KindPublic && s.mux.Guard(r) == "" {
			t.Errorf("%s declares %q but its protocol registers no authenticator on the mux (mux.Authenticate in its Mount): the router cannot enforce it", r.Key(), r.Access)
		}
	}
}

// TestMuxRefusesUndeclaredRoutes: mounting a route without a rule panics.
func TestMuxRefusesUndeclaredRoutes(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("a route without an access rule was mounted")
		}
	}()
	router.New().Handle(router.Route{Method: "GET", Pattern: "/x", Handler: nil})
}
