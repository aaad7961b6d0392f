package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// chromiumPath finds Debian's chromium; without it the console's browser
// tests skip locally and fail in CI (CI=true), where .ci/run installs it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed: .ci/run installs Debian's chromium package for the console's browser tests")
	}
	t.Skip("chromium is not installed (apt-get install chromium); the console's browser tests need it and run in CI")
	return ""
}

// browser starts headless Chromium for the test. Ward's CA is not in the
// browser's trust store, so this test browser (only) ignores certificate
// errors; cookies stay Secure because the origin is https.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromiumPath(t)), chromedp.NoSandbox,
		chromedp.Flag("ignore-certificate-errors", true), chromedp.WindowSize(1280, 860), chromedp.Flag("force-color-profile", "srgb"))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// run runs browser steps, failing the test with the page's view on error.
func run(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	step, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(step, steps...); err != nil {
		html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("#main")))
		t.Fatalf("%s: %v\npage: %.3000s", what, err, html)
	}
}

// value runs one browser action that returns a value.
func value[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	step, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(step, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

func css(sel string) chromedp.CSS { return chromedp.CSS(sel) }

// consoleLink asks for a sign-in link with principal p's management token,
// as `ward console` does with the CLI's.
func (w *ward) consoleLink(t *testing.T, token string) string {
	t.Helper()
	st, b := w.raw(t, token, "POST", "", "/console/api/links", `{}`)
	if st != 201 {
		t.Fatalf("console link: %d %v", st, b)
	}
	return b["url"].(string)
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	run(t, ctx, "settle", chromedp.Sleep(300*time.Millisecond))
	png := value(t, ctx, "screenshot "+name, chromedp.CaptureScreenshot())
	if len(png) < 1000 {
		t.Errorf("screenshot %s is empty", name)
	}
	// The README's screenshots are rewritten only on request, so a test run
	// leaves the tree clean: WARD_UPDATE_SCREENSHOTS=1 go test ./test/e2e -run TestConsoleBrowser
	dir := t.TempDir()
	if os.Getenv("WARD_UPDATE_SCREENSHOTS") != "" {
		dir = filepath.Join("..", "..", "docs")
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Errorf("write screenshot: %v", err)
	}
}

// TestConsoleBrowser drives the console in real headless Chromium against
// ward serve: sign in with `ward console`'s link, walk the access graph
// from a resource group to an identity, its federated credential and a
// role assignment, watch a refused exchange arrive live in the sign-in log
// and fix it with the button, check cookies and CSRF from the browser, and
// that a Reader's session cannot write and a session without roles sees
// nothing.
func TestConsoleBrowser(t *testing.T) {
	t.Parallel()
	skipIfShort(t, "drives headless Chromium")
	chromiumPath(t)
	w := startWard(t, "")
	sub := "/subscriptions/" + w.admin.SubscriptionID
	rg := sub + "/resourceGroups/shop"
	must := func(st int, b map[string]any, want int, what string) map[string]any {
		t.Helper()
		if st != want {
			t.Fatalf("%s: %d %v", what, st, b)
		}
		return b
	}
	st, b, _ := w.request("PUT", rg+"?api-version=2021-04-01", `{"location":"westeurope"}`)
	must(st, b, 201, "group")
	st, b, _ = w.request("PUT", rg+"/providers/Microsoft.ContainerService/managedClusters/prod?api-version=2024-05-01",
		`{"location":"westeurope","properties":{"oidcIssuerProfile":{"enabled":true},"securityProfile":{"workloadIdentity":{"enabled":true}}}}`)
	issuer := must(st, b, 201, "cluster")["properties"].(map[string]any)["oidcIssuerProfile"].(map[string]any)["issuerURL"].(string)
	identity := rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/checkout"
	st, b, _ = w.request("PUT", identity+"?api-version=2023-01-31", `{"location":"westeurope"}`)
	props := must(st, b, 201, "identity")["properties"].(map[string]any)
	clientID, principalID := props["clientId"].(string), props["principalId"].(string)
	for _, id := range []string{"payments", "catalog"} {
		st, b, _ = w.request("PUT", rg+"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/"+id+"?api-version=2023-01-31", `{"location":"westeurope"}`)
		must(st, b, 201, "identity "+id)
		st, b, _ = w.request("PUT", rg+"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/"+id+"/federatedIdentityCredentials/prod-"+id+"?api-version=2023-01-31",
			`{"properties":{"issuer":"`+issuer+`","subject":"system:serviceaccount:shop:`+id+`","audiences":["api://AzureADTokenExchange"]}}`)
		must(st, b, 201, "fic "+id)
	}
	st, b, _ = w.request("PUT", identity+"/federatedIdentityCredentials/prod-checkout?api-version=2023-01-31",
		`{"properties":{"issuer":"`+issuer+`","subject":"system:serviceaccount:shop:checkout","audiences":["api://AzureADTokenExchange"]}}`)
	must(st, b, 201, "fic")
	vault := rg + "/providers/Microsoft.KeyVault/vaults/shopkv"
	st, b, _ = w.request("PUT", vault+"?api-version=2023-07-01", `{"location":"westeurope","properties":{"tenantId":"`+w.admin.TenantID+`","sku":{"family":"A","name":"standard"}}}`)
	must(st, b, 201, "vault")
	w.assign(t, principalID, vault, "4633458b-17de-408a-b874-0445c86b69e6") // Key Vault Secrets User
	w.assign(t, principalID, rg, "acdd72a7-3385-48ef-bd42-f606fba81ae7")    // Reader

	ctx := browser(t)
	csp := watchCSP(t, ctx)
	// Sign in through `ward console`'s link.
	link, errOut, code := w.cli("console")
	link = strings.TrimSpace(link)
	if code != 0 || !strings.Contains(link, "/console/login?code=") {
		t.Fatalf("ward console: %d %s %s", code, link, errOut)
	}
	run(t, ctx, "sign in", chromedp.Navigate(link), chromedp.WaitVisible(css("#nav a.active")), chromedp.WaitVisible(css("svg.graph")))

	// Cookies: HttpOnly (script cannot read it), Secure, SameSite=Strict.
	cookies, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{})
	if err != nil {
		t.Fatal(err)
	}
	docCookie := value(t, ctx, "document.cookie", chromedp.Evaluate[string](`document.cookie`))
	found := false
	for _, c := range cookies.Cookies {
		if c.Name == "__Host-ward-console" {
			found = true
			if !c.HTTPOnly || !c.Secure || c.SameSite != network.CookieSameSiteStrict || c.Path != "/" {
				t.Errorf("session cookie: httpOnly=%v secure=%v sameSite=%v path=%s", c.HTTPOnly, c.Secure, c.SameSite, c.Path)
			}
		}
	}
	if !found || strings.Contains(docCookie, "ward-console") {
		t.Errorf("session cookie found=%v; document.cookie=%q", found, docCookie)
	}
	// The used link does not work again.
	if st, _ := w.raw(t, "", "GET", "", strings.TrimPrefix(link, w.base), ""); st != 401 {
		t.Errorf("second use of the link: %d, want 401", st)
	}

	// Graph from the resource group → identity → federated credential → role assignment.
	id := strings.ToLower(identity)
	node := func(id string) chromedp.CSS { return css(fmt.Sprintf(`svg.graph g.node[data-id=%q]`, id)) }
	run(t, ctx, "graph from the group", chromedp.Navigate(w.base+"/console/#graph?start="+url.QueryEscape(rg)), chromedp.WaitVisible(node(id)))
	screenshot(t, ctx, "console-graph.png")
	// The kind colours come from the stylesheet (the CSP refuses style
	// attributes): every chip's dot and the identity's bar are painted.
	if dots := value(t, ctx, "unpainted kind dots", chromedp.Evaluate[int](`[...document.querySelectorAll(".chip .dot")].filter(d => ["", "transparent", "rgba(0, 0, 0, 0)"].includes(getComputedStyle(d).backgroundColor)).length`)); dots != 0 {
		t.Errorf("%d kind dots on the graph page have no colour", dots)
	}
	if fill := value(t, ctx, "identity bar", chromedp.Evaluate[string](fmt.Sprintf(`getComputedStyle(document.querySelector(%q)).fill`, fmt.Sprintf(`svg.graph g.node[data-id=%q] rect.bar`, id)))); fill == "" || fill == "rgb(0, 0, 0)" || fill == "none" {
		t.Errorf("the identity's bar is painted %q, not its kind's colour", fill)
	}
	csp.none(t, "the graph page")
	run(t, ctx, "open the identity", chromedp.Click(node(id)), chromedp.WaitVisible(css(`#drawer:not([hidden])`)))
	drawer := value(t, ctx, "identity details", chromedp.Text(css("#drawer")))
	if !strings.Contains(drawer, clientID) || !strings.Contains(drawer, "ward identity show -g shop -n checkout") {
		t.Errorf("identity details lack the client ID or the CLI command: %s", drawer)
	}
	fic := id + "/federatedidentitycredentials/prod-checkout"
	run(t, ctx, "open the federated credential", chromedp.Click(css(fmt.Sprintf(`#drawer a[data-node=%q]`, fic))),
		chromedp.WaitVisible(css(fmt.Sprintf(`svg.graph g.node.sel[data-id=%q]`, fic))))
	drawer = value(t, ctx, "credential details", chromedp.Text(css("#drawer")))
	if !strings.Contains(drawer, "system:serviceaccount:shop:checkout") || !strings.Contains(drawer, issuer) {
		t.Errorf("credential details: %s", drawer)
	}
	run(t, ctx, "back to the identity", chromedp.Click(css(fmt.Sprintf(`#drawer a[data-node=%q]`, id))), chromedp.WaitVisible(css(fmt.Sprintf(`svg.graph g.node.sel[data-id=%q]`, id))))
	run(t, ctx, "open a role assignment", chromedp.Click(css(`#drawer a[data-node^="assignment:"]`)), chromedp.WaitVisible(css(`svg.graph g.node.sel[data-kind="roleAssignment"]`)))
	drawer = value(t, ctx, "assignment details", chromedp.Text(css("#drawer")))
	if !strings.Contains(drawer, "role assignment") || !(strings.Contains(drawer, "Key Vault Secrets User") || strings.Contains(drawer, "Reader")) {
		t.Errorf("assignment details: %s", drawer)
	}
	if n := value(t, ctx, "inherited edges", chromedp.Evaluate[int](`document.querySelectorAll("svg.graph path.e.inh").length`)); n == 0 {
		t.Error("the Reader assignment at the group is not drawn as inherited by the vault")
	}
	// The same graph one identity a page: the first page is drawn, the
	// page follows each nextLink, and the three identities end up drawn
	// once each from three pages.
	run(t, ctx, "graph in pages", chromedp.Navigate(w.base+"/console/#graph?top=1&start="+url.QueryEscape(rg)),
		chromedp.WaitVisible(css(`#g-stat[data-done="1"]`)))
	for _, name := range []string{"catalog", "checkout", "payments"} {
		run(t, ctx, "paged identity "+name, chromedp.WaitVisible(node(strings.ToLower(rg+"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/"+name))))
	}
	if n := value(t, ctx, "paged identities", chromedp.Evaluate[int](`document.querySelectorAll('svg.graph g.node[data-kind="identity"]').length`)); n != 3 {
		t.Errorf("the paged graph draws %d identities, want 3", n)
	}
	if pages := value(t, ctx, "pages", chromedp.Evaluate[int](`Number(document.querySelector("#g-stat").dataset.pages)`)); pages < 3 {
		t.Errorf("the graph came in %d pages, want at least 3 at $top=1", pages)
	}
	if stat := value(t, ctx, "paged stat", chromedp.Text(css("#g-stat"))); !strings.Contains(stat, "Showing 3 identities") {
		t.Errorf("status line of the paged graph: %q", stat)
	}
	csp.none(t, "the paged graph")
	// The explorer's details of the identity: its long ID wraps inside the
	// panel, its credentials and role assignments are styled by class.
	run(t, ctx, "explorer details", chromedp.Navigate(w.base+"/console/#explorer?s=identities&id="+url.QueryEscape(identity)), chromedp.WaitVisible(css(`#drawer .obj-id`)),
		chromedp.WaitVisible(css(`#drawer .panel.child`)))
	if over := value(t, ctx, "long ID overflow", chromedp.Evaluate[bool](`(() => { const d = document.querySelector("#drawer .obj-id"); return d.scrollWidth > d.clientWidth + 1; })()`)); over {
		t.Error("the identity's ID overflows the details panel")
	}
	csp.none(t, "the explorer")
	// The explorer in pages of one identity: the identities of later pages
	// join the table, and a link to one of them opens its details.
	last := rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/payments"
	run(t, ctx, "explorer in pages", chromedp.Navigate(w.base+"/console/#explorer?s=identities&top=1&id="+url.QueryEscape(last)),
		chromedp.WaitVisible(css(`.explorer[data-done="1"]`)), chromedp.WaitVisible(css(`#drawer .obj-id`)))
	if pages := value(t, ctx, "explorer pages", chromedp.Evaluate[int](`Number(document.querySelector(".explorer").dataset.pages)`)); pages < 3 {
		t.Errorf("the explorer came in %d pages, want at least 3 at $top=1", pages)
	}
	for _, name := range []string{"catalog", "checkout", "payments"} {
		if n := value(t, ctx, "paged explorer row "+name, chromedp.Evaluate[int](`[...document.querySelectorAll(".explorer tbody tr")].filter(r => r.dataset.id.toLowerCase().endsWith("/userassignedidentities/`+name+`")).length`)); n != 1 {
			t.Errorf("the paged explorer lists %s %d times, want once", name, n)
		}
	}
	if id := value(t, ctx, "paged explorer details", chromedp.Text(css("#drawer .obj-id"))); !strings.EqualFold(id, last) {
		t.Errorf("details of %q, want %q", id, last)
	}

	// Sign-ins: filter, then watch a refused exchange arrive live and fix it.
	run(t, ctx, "sign-ins", chromedp.Navigate(w.base+"/console/#signins?result=failure&identity="+clientID), chromedp.WaitVisible(css(`#s-live.live.on`)))
	st, tok, _ := w.request("POST", rg+"/providers/Microsoft.ContainerService/managedClusters/prod/getServiceAccountToken?api-version=2024-05-01",
		`{"namespace":"shop","serviceAccount":"checkout-v2","audience":"api://AzureADTokenExchange"}`)
	sa := must(st, tok, 200, "service-account token")["token"].(string)
	exchange := func() (int, map[string]any) {
		return postToken(t, w, w.admin.TenantID, url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {sa},
			"scope": {"https://vault.azure.net/.default"}})
	}
	if st, b := exchange(); st == 200 {
		t.Fatalf("exchange with an unknown subject succeeded: %v", b)
	}
	run(t, ctx, "refusal arrives live", chromedp.WaitVisible(css(`#s-rows tr.fresh[data-result="failure"]`)),
		chromedp.Click(css(`#s-rows tr[data-result="failure"]`)), chromedp.WaitVisible(css(`#drawer .explain`)))
	drawer = value(t, ctx, "refusal details", chromedp.Text(css("#drawer")))
	if !strings.Contains(drawer, "700213") || !strings.Contains(drawer, "system:serviceaccount:shop:checkout") {
		t.Errorf("the refusal does not explain what would have matched: %s", drawer)
	}
	screenshot(t, ctx, "console-signin.png")

	// CSRF from the browser: the same write without the token is refused.
	csrfStatus := value(t, ctx, "write without CSRF token", chromedp.Evaluate[int](`fetch("/console/api/fix/federated-credential", {method: "POST", headers: {"Content-Type": "application/json"},
		body: JSON.stringify({identity: `+jsString(identity)+`, name: "csrf-probe", issuer: "https://x.example", subject: "s"})}).then(r => r.status)`, chromedp.EvalAwaitPromise))
	if csrfStatus != 403 {
		t.Errorf("a write without the CSRF token: %d, want 403", csrfStatus)
	}

	run(t, ctx, "fix", chromedp.Click(css(`#fix`)), chromedp.WaitVisible(css(`#confirm[open]`)),
		chromedp.Click(css(`#confirm-ok`)), chromedp.WaitVisible(css(`#toast.show`)))
	if st, b := exchange(); st != 200 {
		t.Errorf("exchange after the fix: %d %v", st, b)
	}
	st, acts, _ := w.request("GET", sub+"/providers/Microsoft.Insights/eventtypes/management/values?api-version=2015-04-01", "")
	if st != 200 || !strings.Contains(fmt.Sprint(acts), "federatedIdentityCredentials/console-shop-checkout-v2") {
		t.Errorf("the fix is not in the activity log: %d %v", st, acts)
	}
	run(t, ctx, "activity view", chromedp.Navigate(w.base+"/console/#activity?q=console-shop"), chromedp.WaitVisible(css(`#a-rows tr td .badge.ok`)))

	// The policy view: a GitHub credential written before an audit
	// assignment of the trusted-owners built-in does not comply.
	st, b, _ = w.request("PUT", rg+"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/payments/federatedIdentityCredentials/gh-legacy?api-version=2023-01-31",
		`{"properties":{"issuer":"https://token.actions.githubusercontent.com","subject":"repo:evil/app:ref:refs/heads/main","audiences":["api://AzureADTokenExchange"]}}`)
	must(st, b, 201, "github fic")
	w.assignPolicy(t, sub, "github-owners-audit", builtInPolicyPrefix+policyGitHubOwners, `{"allowedRepoOwners":{"value":["contoso"]},"effect":{"value":"Audit"}}`, "")
	run(t, ctx, "policy view", chromedp.Navigate(w.base+"/console/#policy"), chromedp.WaitVisible(css(`#p-rows tr.p-row`)))
	if text := value(t, ctx, "policy view text", chromedp.Text(css("#p-rows"))); !strings.Contains(text, "gh-legacy") || !strings.Contains(text, "github-owners-audit") ||
		!strings.Contains(text, "audit") || strings.Contains(text, "prod-checkout") {
		t.Errorf("the policy view: %s", text)
	}

	// A Reader at the group: sees the group's identities, reads no
	// sign-ins, and cannot write even with its CSRF token.
	reader := w.newPrincipal(t, "console-reader")
	w.assign(t, reader.ObjectID, rg, "acdd72a7-3385-48ef-bd42-f606fba81ae7")
	run(t, ctx, "sign out", chromedp.Navigate(w.base+"/console/#graph"), chromedp.WaitVisible(css(`#logout`)), chromedp.Click(css(`#logout`)),
		chromedp.WaitVisible(css(`#signin`)))
	run(t, ctx, "sign in as the reader", chromedp.Navigate(w.consoleLink(t, w.tokenFor(t, reader, "https://management.azure.com/.default"))),
		chromedp.WaitVisible(node(id)))
	readerWrite := value(t, ctx, "reader writes", chromedp.Evaluate[int](`fetch("/console/api/me").then(r => r.json()).then(me => fetch("/console/api/fix/federated-credential", {method: "POST",
		headers: {"Content-Type": "application/json", "X-Ward-CSRF": me.csrfToken},
		body: JSON.stringify({identity: `+jsString(identity)+`, name: "reader-probe", issuer: "https://x.example", subject: "s"})})).then(r => r.status)`, chromedp.EvalAwaitPromise))
	if readerWrite != 403 {
		t.Errorf("a Reader's write: %d, want 403", readerWrite)
	}
	run(t, ctx, "reader's sign-ins", chromedp.Navigate(w.base+"/console/#signins"), chromedp.WaitVisible(css(`#view .panel`)))
	if text := value(t, ctx, "reader's sign-ins text", chromedp.Text(css("#view"))); !strings.Contains(text, "auditLogs/read") {
		t.Errorf("a Reader's sign-in view: %s", text)
	}

	// A principal with no role sees nothing.
	nobody := w.newPrincipal(t, "console-nobody")
	run(t, ctx, "sign out the reader", chromedp.Click(css(`#logout`)), chromedp.WaitVisible(css(`#signin`)))
	run(t, ctx, "sign in with no role", chromedp.Navigate(w.consoleLink(t, w.tokenFor(t, nobody, "https://management.azure.com/.default"))),
		chromedp.WaitVisible(css(`#graph .empty`)), chromedp.Navigate(w.base+"/console/#explorer"), chromedp.WaitVisible(css(`.explorer .side`)))
	if text := value(t, ctx, "explorer", chromedp.Text(css(".explorer"))); strings.Contains(text, "checkout") || strings.Contains(text, "shopkv") {
		t.Errorf("a principal with no role sees objects: %s", text)
	}
	counts := value(t, ctx, "explorer counts", chromedp.Evaluate[[]int](`[...document.querySelectorAll(".explorer .side a span.muted")].map(s => +s.textContent)`))
	total := 0
	for i, n := range counts {
		if i != 4 { // service principals: itself
			total += n
		}
	}
	if total != 0 {
		t.Errorf("a principal with no role counts %v objects", counts)
	}
}

func jsString(s string) string { b, _ := json.Marshal(s); return string(b) }

// cspWatch collects what the browser reports about the console's pages:
// Content-Security-Policy violations (from a securitypolicyviolation
// listener installed before any page script runs, and from the browser's
// console) and uncaught exceptions.
type cspWatch struct {
	ctx      context.Context
	mu       sync.Mutex
	problems []string
}

func watchCSP(t *testing.T, ctx context.Context) *cspWatch {
	t.Helper()
	w := &cspWatch{ctx: ctx}
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `window.__csp = [];
document.addEventListener("securitypolicyviolation", e => window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "") + " " + (e.sample || "")));`}); err != nil {
		t.Fatalf("install the CSP listener: %v", err)
	}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.IsException() || strings.Contains(m.Text, "Content Security Policy") || m.Source == "security" {
				w.mu.Lock()
				w.problems = append(w.problems, m.String())
				w.mu.Unlock()
			}
		}
	}()
	return w
}

// none fails the test for any violation or exception so far, on the page
// shown now or before it.
func (w *cspWatch) none(t *testing.T, where string) {
	t.Helper()
	run(t, w.ctx, "settle", chromedp.Sleep(300*time.Millisecond))
	inPage := value(t, w.ctx, "CSP violations", chromedp.Evaluate[[]string](`(window.__csp || []).splice(0)`))
	w.mu.Lock()
	got := append(w.problems, inPage...)
	w.problems = nil
	w.mu.Unlock()
	if len(got) > 0 {
		t.Errorf("%s: %d CSP violation(s) or exception(s):\n%s", where, len(got), strings.Join(got, "\n"))
	}
}
