package e2e

import (
	"bytes"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestProtocolErrors(t *testing.T) {
	t.Parallel()
	w := startWard(t, "")
	sub := "/subscriptions/" + w.admin.SubscriptionID
	rg := sub + "/resourceGroups/rg"
	id := rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app"
	const v = "?api-version=2024-11-30"
	if s, _, _ := w.request("PUT", rg+"?api-version=2021-04-01", `{"location":"westeurope"}`); s != 201 {
		t.Fatalf("create group: %d", s)
	}
	if s, _, _ := w.request("PUT", id+v, `{"location":"westeurope"}`); s != 201 {
		t.Fatalf("create identity: %d", s)
	}
	cases := []struct {
		name, method, path, body string
		hdr                      []string
		status                   int
		code                     string
	}{
		{"missing api-version", "GET", id, "", nil, 400, "MissingApiVersionParameter"},
		{"unknown identity api-version", "GET", id + "?api-version=1999-01-01", "", nil, 400, "NoRegisteredProviderFound"},
		{"unknown group api-version", "GET", rg + "?api-version=1999-01-01", "", nil, 400, "InvalidApiVersionParameter"},
		{"az api-version", "GET", id + "?api-version=2022-01-31-preview", "", nil, 200, ""},
		{"2023-01-31", "GET", id + "?api-version=2023-01-31", "", nil, 200, ""},
		{"2026-05-31", "GET", id + "?api-version=2026-05-31", "", nil, 200, ""},
		{"FIC before FICs existed", "GET", id + "/federatedIdentityCredentials?api-version=2018-11-30", "", nil, 400, "NoRegisteredProviderFound"},
		{"case-insensitive segments", "GET", strings.ToUpper(strings.Replace(id, w.admin.SubscriptionID, "SUBID", 1)) + v, "", nil, 404, "SubscriptionNotFound"},
		{"lower-case path", "GET", strings.ToLower(id) + v, "", nil, 200, ""},
		{"malformed JSON", "PUT", rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/bad" + v, `{"location":`, nil, 400, "InvalidRequestContent"},
		{"wrong JSON type", "PUT", rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/bad" + v, `{"location":5}`, nil, 400, "InvalidRequestContent"},
		{"trailing data", "PUT", rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/bad" + v, `{"location":"x"} {}`, nil, 400, "InvalidRequestContent"},
		{"empty body", "PUT", rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/bad" + v, "", nil, 400, "InvalidRequestContent"},
		{"oversized body", "PUT", rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/bad" + v, `{"location":"` + strings.Repeat("x", 5<<20) + `"}`, nil, 413, "RequestContentTooLarge"},
		{"missing location", "PUT", rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/bad" + v, `{"tags":{}}`, nil, 400, "LocationRequired"},
		{"bad identity name", "PUT", rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/a" + v, `{"location":"westeurope"}`, nil, 400, "InvalidResourceName"},
		{"bad group name", "PUT", sub + "/resourceGroups/bad%21name?api-version=2021-04-01", `{"location":"westeurope"}`, nil, 400, "InvalidResourceGroup"},
		{"group without location", "PUT", sub + "/resourceGroups/nolocation?api-version=2021-04-01", `{}`, nil, 400, "LocationRequired"},
		{"identity in missing group", "PUT", sub + "/resourceGroups/nope/providers/Microsoft.ManagedIdentity/userAssignedIdentities/x1x" + v, `{"location":"westeurope"}`, nil, 404, "ResourceGroupNotFound"},
		{"missing identity", "GET", rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/nope" + v, "", nil, 404, "ResourceNotFound"},
		{"missing group", "GET", sub + "/resourceGroups/nope?api-version=2021-04-01", "", nil, 404, "ResourceGroupNotFound"},
		{"unknown namespace", "GET", rg + "/providers/Microsoft.Compute/virtualMachines/vm" + v, "", nil, 400, "InvalidResourceNamespace"},
		{"unknown type", "GET", rg + "/providers/Microsoft.ManagedIdentity/widgets/w" + v, "", nil, 400, "InvalidResourceType"},
		{"method not allowed", "POST", id + v, `{}`, nil, 405, "MethodNotAllowed"},
		{"no token", "GET", id + v, "", []string{"Authorization", ""}, 401, "AuthenticationFailed"},
		{"garbage token", "GET", id + v, "", []string{"Authorization", "Bearer not-a-token"}, 401, "InvalidAuthenticationToken"},
		{"client secret as bearer", "GET", id + v, "", []string{"Authorization", "Bearer " + w.admin.ClientSecret}, 401, "InvalidAuthenticationToken"},
		{"bad $top", "GET", rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities" + v + "&$top=0", "", nil, 400, "InvalidParameter"},
		{"bad $skiptoken", "GET", rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities" + v + "&$skiptoken=%25%25", "", nil, 400, "InvalidSkipToken"},
		// Base64 that decodes, but to no cursor a page handed out ("xyz"),
		// on each list that pages.
		{"forged $skiptoken, identities", "GET", rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities" + v + "&$skiptoken=eHl6", "", nil, 400, "InvalidSkipToken"},
		{"forged $skiptoken, groups", "GET", sub + "/resourceGroups?api-version=2021-04-01&$skiptoken=eHl6", "", nil, 400, "InvalidSkipToken"},
		{"forged $skiptoken, credentials", "GET", id + "/federatedIdentityCredentials" + v + "&$skiptoken=eHl6", "", nil, 400, "InvalidSkipToken"},
		{"identity location cannot change", "PUT", id + v, `{"location":"eastus"}`, nil, 409, "InvalidResourceLocation"},
		{"bad isolation scope", "PUT", id + v, `{"location":"westeurope","properties":{"isolationScope":"Global"}}`, nil, 400, "BadRequest"},
		{"too many tags", "PUT", id + v, `{"location":"westeurope","tags":{` + manyTags(51) + `}}`, nil, 400, "InvalidTag"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body, hdr := w.request(tc.method, tc.path, tc.body, tc.hdr...)
			if status != tc.status || errorCode(body) != tc.code {
				t.Fatalf("%s %s: got %d %q (%s), want %d %q", tc.method, tc.path, status, errorCode(body), errorMessage(body), tc.status, tc.code)
			}
			if tc.code != "" && errorMessage(body) == "" {
				t.Fatal("error without a message")
			}
			if hdr.Get("x-ms-request-id") == "" {
				t.Fatal("no x-ms-request-id header")
			}
			if status == 401 && !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer authorization_uri=") {
				t.Fatalf("401 without a Bearer challenge: %q", hdr.Get("WWW-Authenticate"))
			}
		})
	}
	// No failed write left anything behind.
	_, body, _ := w.request("GET", rg+"/providers/Microsoft.ManagedIdentity/userAssignedIdentities"+v, "")
	if vals, _ := body["value"].([]any); len(vals) != 1 {
		t.Fatalf("identities after failed writes: %v", body)
	}
}

func manyTags(n int) string {
	var parts []string
	for i := 0; i < n; i++ {
		parts = append(parts, fmt.Sprintf(`"t%d":"v"`, i))
	}
	return strings.Join(parts, ",")
}

func TestListsAndPaging(t *testing.T) {
	t.Parallel()
	w := startWard(t, "")
	sub := "/subscriptions/" + w.admin.SubscriptionID
	// Empty lists are [], never null.
	for _, p := range []string{sub + "/resourcegroups?api-version=2021-04-01", sub + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities?api-version=2024-11-30"} {
		status, body, _ := w.request("GET", p, "")
		vals, ok := body["value"].([]any)
		if status != 200 || !ok || len(vals) != 0 {
			t.Fatalf("GET %s: %d %v, want 200 with value []", p, status, body)
		}
	}
	status, body, _ := w.request("GET", "/subscriptions?api-version=2022-12-01", "")
	if vals, _ := body["value"].([]any); status != 200 || len(vals) != 1 {
		t.Fatalf("subscriptions: %d %v", status, body)
	}
	status, body, _ = w.request("GET", sub+"?api-version=2022-12-01", "")
	if status != 200 || body["tenantId"] != w.admin.TenantID || body["state"] != "Enabled" {
		t.Fatalf("subscription: %d %v", status, body)
	}
	// Seven groups, paged by three, reassemble in order through nextLink.
	for i := 0; i < 7; i++ {
		if s, _, _ := w.request("PUT", fmt.Sprintf("%s/resourceGroups/rg-%d?api-version=2021-04-01", sub, i), `{"location":"westeurope"}`); s != 201 {
			t.Fatalf("create group %d: %d", i, s)
		}
	}
	var names []string
	next := sub + "/resourcegroups?api-version=2021-04-01&$top=3"
	for pages := 0; next != ""; pages++ {
		if pages > 5 {
			t.Fatal("nextLink never ends")
		}
		_, body, _ := w.request("GET", next, "")
		for _, v := range body["value"].([]any) {
			names = append(names, v.(map[string]any)["name"].(string))
		}
		next, _ = body["nextLink"].(string)
		next = strings.TrimPrefix(next, w.base)
	}
	if fmt.Sprint(names) != "[rg-0 rg-1 rg-2 rg-3 rg-4 rg-5 rg-6]" {
		t.Fatalf("paged groups = %v", names)
	}
	// HEAD answers existence (az group exists).
	if s, _, _ := w.request("HEAD", sub+"/resourceGroups/rg-1?api-version=2021-04-01", ""); s != http.StatusNoContent {
		t.Fatalf("HEAD existing group: %d", s)
	}
	if s, _, _ := w.request("HEAD", sub+"/resourceGroups/none?api-version=2021-04-01", ""); s != http.StatusNotFound {
		t.Fatalf("HEAD missing group: %d", s)
	}
	// Cloud metadata needs no token.
	resp, err := w.http.Get(w.base + "/metadata/endpoints?api-version=2022-09-01")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("metadata: %v %v", err, resp)
	}
	resp.Body.Close()
}

// TestDurability kills the server with SIGKILL right after a 201 and checks
// that a restart on the same data directory has everything, unchanged.
func TestDurability(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	w := startWard(t, dir)
	sub := "/subscriptions/" + w.admin.SubscriptionID
	id := sub + "/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/durable"
	if s, _, _ := w.request("PUT", sub+"/resourceGroups/rg?api-version=2021-04-01", `{"location":"westeurope"}`); s != 201 {
		t.Fatal("create group")
	}
	s, created, _ := w.request("PUT", id+"?api-version=2024-11-30", `{"location":"westeurope","tags":{"a":"b"}}`)
	if s != 201 {
		t.Fatalf("create identity: %d", s)
	}
	s, _, _ = w.request("PUT", id+"/federatedIdentityCredentials/fic-1?api-version=2024-11-30",
		`{"properties":{"issuer":"https://issuer.example.com","subject":"sub","audiences":["api://AzureADTokenExchange"]}}`)
	if s != 201 {
		t.Fatalf("create credential: %d", s)
	}
	w.kill9()
	caBefore, _ := os.ReadFile(filepath.Join(dir, "ca.pem"))

	w2 := startWard(t, dir)
	// The new process listens on another port, so only the URLs may differ.
	same := w2.admin
	same.AuthorityHost, same.ResourceManager = w.admin.AuthorityHost, w.admin.ResourceManager
	if same != w.admin {
		t.Fatalf("admin.json changed across restart: %+v vs %+v", w2.admin, w.admin)
	}
	caAfter, _ := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if string(caBefore) != string(caAfter) {
		t.Fatal("the CA was regenerated on restart")
	}
	s, got, _ := w2.request("GET", id+"?api-version=2024-11-30", "")
	if s != 200 {
		t.Fatalf("identity after kill -9: %d %v", s, got)
	}
	cp, gp := created["properties"].(map[string]any), got["properties"].(map[string]any)
	if cp["clientId"] != gp["clientId"] || cp["principalId"] != gp["principalId"] || got["tags"].(map[string]any)["a"] != "b" {
		t.Fatalf("identity changed across kill -9: %v vs %v", created, got)
	}
	if s, _, _ := w2.request("GET", id+"/federatedIdentityCredentials/fic-1?api-version=2024-11-30", ""); s != 200 {
		t.Fatalf("credential after kill -9: %d", s)
	}
}

func TestAdminFileAndTLS(t *testing.T) {
	t.Parallel()
	w := startWard(t, "")
	st, err := os.Stat(filepath.Join(w.dataDir, "admin.json"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("admin.json mode %v, want 0600", st.Mode().Perm())
	}
	a := w.admin
	if a.TenantID == "" || a.SubscriptionID == "" || a.ClientID == "" || a.ClientSecret == "" ||
		a.AuthorityHost != w.base+"/" || a.ResourceManager != w.base+"/" {
		t.Fatalf("admin.json = %+v", a)
	}
	resp, err := w.http.Get(w.base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Fatalf("served over %s, want HTTP/2", resp.Proto)
	}
	// The chain sent is the leaf alone: the root (ca.pem) is what clients
	// already trust, and sending it costs every new connection a second
	// signature check in Go's verifier.
	if n := len(resp.TLS.PeerCertificates); n != 1 {
		t.Errorf("server sent a chain of %d certificates, want the leaf alone", n)
	}
	caPEM, err := os.ReadFile(filepath.Join(w.dataDir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := pem.Decode(caPEM)
	if vc := resp.TLS.VerifiedChains; len(vc) != 1 || len(vc[0]) != 2 || !bytes.Equal(vc[0][1].Raw, ca.Bytes) {
		t.Errorf("verified %d chains (the first of %d certificates), want one: the leaf, then ca.pem", len(vc), len(append(vc, nil)[0]))
	}
	leaf := resp.TLS.PeerCertificates[0]
	for _, name := range []string{"localhost", "myvault.vault.localhost", "anything.localhost"} {
		if err := leaf.VerifyHostname(name); err != nil {
			t.Errorf("serving certificate does not cover %s: %v", name, err)
		}
	}
	for _, ip := range []string{"127.0.0.1", "::1"} {
		if err := leaf.VerifyHostname(ip); err != nil {
			t.Errorf("serving certificate does not cover %s: %v", ip, err)
		}
	}
}

func TestPublicURL(t *testing.T) {
	t.Parallel()
	w := startWard(t, "", "--public-url", "https://ward.example.test:9443")
	if w.admin.AuthorityHost != "https://ward.example.test:9443/" {
		t.Fatalf("authorityHost = %s", w.admin.AuthorityHost)
	}
	resp, err := w.http.Get(w.base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := resp.TLS.PeerCertificates[0].VerifyHostname("ward.example.test"); err != nil {
		t.Fatalf("certificate does not cover the public URL's host: %v", err)
	}
}
