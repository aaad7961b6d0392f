package e2e

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/ward-id/ward/internal/postgrestest"
)

// keyIDs lists a service principal's client secret key IDs, oldest first.
func (w *ward) keyIDs(t *testing.T, p principal) []string {
	t.Helper()
	st, sp := w.raw(t, w.graphToken(t), "GET", "", "/v1.0/servicePrincipals/"+p.ObjectID, "")
	if st != 200 {
		t.Fatalf("read %s: %d %v", p.ObjectID, st, sp)
	}
	var out []string
	for _, c := range sp["passwordCredentials"].([]any) {
		out = append(out, c.(map[string]any)["keyId"].(string))
	}
	return out
}

func (w *ward) removeSecret(t *testing.T, p principal, keyID string) {
	t.Helper()
	if st, b := w.raw(t, w.graphToken(t), "POST", "", "/v1.0/servicePrincipals/"+p.ObjectID+"/removePassword", `{"keyId":"`+keyID+`"}`); st != 204 {
		t.Fatalf("removePassword: %d %v", st, b)
	}
}

// TestConsoleBrowserSessionEnds drives the console in headless Chromium: a
// session cannot make itself a link (fetch with its cookie and CSRF token
// is refused), and removing the secret the session's token came from signs
// the page out at once: the next load shows the sign-in page.
func TestConsoleBrowserSessionEnds(t *testing.T) {
	t.Parallel()
	skipIfShort(t, "drives headless Chromium")
	chromiumPath(t)
	w := startWard(t, "")
	p := w.newPrincipal(t, "console-session")
	keys := w.keyIDs(t, p)
	ctx := browser(t)
	run(t, ctx, "sign in", chromedp.Navigate(w.consoleLink(t, w.tokenFor(t, p, "https://management.azure.com/.default"))),
		chromedp.WaitVisible(css("#nav a.active")))
	status := value(t, ctx, "a link from the session", chromedp.Evaluate[int](`fetch("/console/api/me").then(r => r.json()).then(me =>
		fetch("/console/api/links", {method: "POST", headers: {"Content-Type": "application/json", "X-Ward-CSRF": me.csrfToken}, body: "{}"})).then(r => r.status)`,
		chromedp.EvalAwaitPromise))
	if status != 401 {
		t.Errorf("a session asked for a link: %d, want 401", status)
	}
	w.removeSecret(t, p, keys[0])
	run(t, ctx, "signed out", chromedp.Reload(), chromedp.WaitVisible(css("#signin")))
	if st := value(t, ctx, "me after removal", chromedp.Evaluate[int](`fetch("/console/api/me").then(r => r.status)`, chromedp.EvalAwaitPromise)); st != 401 {
		t.Errorf("/console/api/me after the secret's removal: %d, want 401", st)
	}
}

// TestConsoleSessionAcrossReplicas: a session lives on the replica it
// signed in at (docs/console-sessions.md); removing its secret, or deleting
// its principal, through another replica ends it there at its very next
// request (each request reads the shared store), not after the change
// feed's bound.
func TestConsoleSessionAcrossReplicas(t *testing.T) {
	t.Parallel()
	skipIfShort(t, "drives headless Chromium")
	pg := postgrestest.StartServer(t)
	rs := startReplicas(t, pg.DSN, filepath.Join(t.TempDir(), "kek"), 2)
	a, b := rs[0], rs[1]
	b.http = a.http // one CA
	signInAt := func(r *ward, p principal) *http.Client {
		t.Helper()
		link := r.consoleLink(t, r.tokenFor(t, p, "https://management.azure.com/.default"))
		// The link names the public URL (replica a); a sticky load
		// balancer sends the browser back to the replica that made it.
		u, _ := url.Parse(link)
		u.Host = r.addr
		jar, _ := cookiejar.New(nil)
		br := &http.Client{Transport: r.http.Transport, Jar: jar, Timeout: 10 * time.Second}
		resp, err := br.Get(u.String())
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("open the link on %s: %v %v", r.addr, err, resp)
		}
		resp.Body.Close()
		return br
	}
	me := func(r *ward, br *http.Client) (int, string) {
		t.Helper()
		resp, err := br.Get(r.base + "/console/api/me")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}

	p := a.newPrincipal(t, "replica-console")
	keys := a.keyIDs(t, p)
	br := signInAt(b, p)
	if st, body := me(b, br); st != 200 {
		t.Fatalf("session on b: %d %s", st, body)
	}
	a.removeSecret(t, p, keys[0])
	if st, body := me(b, br); st != 401 || !strings.Contains(body, "SessionEnded") {
		t.Errorf("b's session after a removed its secret: %d %s", st, body)
	}

	q := a.newPrincipal(t, "replica-console-2")
	br = signInAt(b, q)
	if st, b := a.raw(t, a.graphToken(t), "DELETE", "", "/v1.0/servicePrincipals/"+q.ObjectID, ""); st != 204 {
		t.Fatalf("delete: %d %v", st, b)
	}
	if st, body := me(b, br); st != 401 || !strings.Contains(body, "SessionEnded") {
		t.Errorf("b's session after a deleted its principal: %d %s", st, body)
	}
}
