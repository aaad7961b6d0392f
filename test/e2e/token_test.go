package e2e

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// jwksFromDiscovery fetches Ward's keys the way a resource server would:
// discovery document, then jwks_uri.
func (w *ward) jwksFromDiscovery(t *testing.T, v2 bool) (jose.JSONWebKeySet, string) {
	t.Helper()
	path := "/" + w.admin.TenantID + "/.well-known/openid-configuration"
	if v2 {
		path = "/" + w.admin.TenantID + "/v2.0/.well-known/openid-configuration"
	}
	var doc struct{ Issuer, JWKSURI string }
	getJSON(t, w, w.base+path, &struct {
		Issuer  *string `json:"issuer"`
		JWKSURI *string `json:"jwks_uri"`
	}{&doc.Issuer, &doc.JWKSURI})
	var set jose.JSONWebKeySet
	getJSON(t, w, doc.JWKSURI, &set)
	return set, doc.Issuer
}

func getJSON(t *testing.T, w *ward, u string, out any) {
	t.Helper()
	resp, err := w.http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", u, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}

// verify checks an access token against the JWKS found through discovery
// and returns its claims.
func verify(t *testing.T, w *ward, token string) map[string]any {
	t.Helper()
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	set, _ := w.jwksFromDiscovery(t, true)
	keys := set.Key(tok.Headers[0].KeyID)
	if len(keys) != 1 {
		t.Fatalf("kid %q not in the published JWKS", tok.Headers[0].KeyID)
	}
	var claims map[string]any
	if err := tok.Claims(keys[0].Key, &claims); err != nil {
		t.Fatalf("token does not verify with the published key: %v", err)
	}
	return claims
}

func credOptions(w *ward) azcore.ClientOptions {
	return policy.ClientOptions{Cloud: w.cloudConfig(), Transport: w.http}
}

func TestDiscoveryDocuments(t *testing.T) {
	t.Parallel()
	w := startWard(t, "")
	set, iss := w.jwksFromDiscovery(t, true)
	if iss != w.base+"/"+w.admin.TenantID+"/v2.0" || len(set.Keys) == 0 {
		t.Fatalf("v2 issuer %q, %d keys", iss, len(set.Keys))
	}
	_, iss1 := w.jwksFromDiscovery(t, false)
	if iss1 != w.base+"/"+w.admin.TenantID+"/" {
		t.Fatalf("v1 issuer %q", iss1)
	}
	var raw map[string]any
	getJSON(t, w, w.base+"/"+w.admin.TenantID+"/discovery/v2.0/keys", &raw)
	k := raw["keys"].([]any)[0].(map[string]any)
	for _, f := range []string{"kty", "use", "kid", "x5t", "n", "e", "x5c"} {
		if k[f] == nil {
			t.Errorf("JWKS key lacks %q: %v", f, k)
		}
	}
	var common map[string]any
	getJSON(t, w, w.base+"/common/v2.0/.well-known/openid-configuration", &common)
	if common["issuer"] != w.base+"/{tenantid}/v2.0" {
		t.Fatalf("common issuer = %v", common["issuer"])
	}
	var inst map[string]any
	// az drops the port from authorization_endpoint; the answer must not.
	getJSON(t, w, w.base+"/common/discovery/instance?api-version=1.1&authorization_endpoint="+url.QueryEscape("https://127.0.0.1/"+w.admin.TenantID+"/oauth2/v2.0/authorize"), &inst)
	if inst["tenant_discovery_endpoint"] != w.base+"/"+w.admin.TenantID+"/v2.0/.well-known/openid-configuration" {
		t.Fatalf("instance discovery = %v", inst)
	}
}

func TestClientSecretAndCertificateCredentials(t *testing.T) {
	t.Parallel()
	w := startWard(t, "")
	ctx := context.Background()
	// ClientSecretCredential (the admin) for the ARM audience: a v1 token.
	tok, err := w.adminCredential().GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://management.azure.com//.default"}})
	if err != nil {
		t.Fatal(err)
	}
	c := verify(t, w, tok.Token)
	if c["aud"] != "https://management.azure.com/" || c["ver"] != "1.0" || c["appid"] != w.admin.ClientID || c["appidacr"] != "1" ||
		c["iss"] != w.base+"/"+w.admin.TenantID+"/" || c["tid"] != w.admin.TenantID || c["idtyp"] != "app" || c["oid"] != c["sub"] || c["uti"] == nil {
		t.Fatalf("admin token claims = %v", c)
	}

	// A new service principal with a certificate: ClientCertificateCredential.
	out, errOut, code := w.cli("ad", "sp", "create-for-rbac", "--name", "cert-app", "--role", "Contributor", "--scopes", "/subscriptions/"+w.admin.SubscriptionID)
	if code != 0 {
		t.Fatalf("create-for-rbac: %s", errOut)
	}
	var sp struct{ AppID, Password, Tenant string }
	if err := json.Unmarshal([]byte(out), &sp); err != nil || sp.Password == "" || sp.Tenant != w.admin.TenantID {
		t.Fatalf("create-for-rbac printed %s (%v)", out, err)
	}
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "cert-app"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	cert, _ := x509.ParseCertificate(der)
	certFile := filepath.Join(t.TempDir(), "cert.b64")
	os.WriteFile(certFile, []byte(base64.StdEncoding.EncodeToString(der)), 0o600)
	certB64, _ := os.ReadFile(certFile)
	if _, errOut, code := w.cli("ad", "sp", "credential", "reset", "--id", sp.AppID, "--cert", string(certB64)); code != 0 {
		t.Fatalf("register certificate: %s", errOut)
	}
	cc, err := azidentity.NewClientCertificateCredential(w.admin.TenantID, sp.AppID, []*x509.Certificate{cert}, key,
		&azidentity.ClientCertificateCredentialOptions{ClientOptions: credOptions(w), DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	tok, err = cc.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://vault.azure.net/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	c = verify(t, w, tok.Token)
	if c["appid"] != sp.AppID || c["appidacr"] != "2" || c["aud"] != "https://vault.azure.net" {
		t.Fatalf("certificate token claims = %v", c)
	}
	// An unregistered certificate is refused with 700027.
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	der2, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &other.PublicKey, other)
	cert2, _ := x509.ParseCertificate(der2)
	bad, _ := azidentity.NewClientCertificateCredential(w.admin.TenantID, sp.AppID, []*x509.Certificate{cert2}, other,
		&azidentity.ClientCertificateCredentialOptions{ClientOptions: credOptions(w), DisableInstanceDiscovery: true})
	if _, err := bad.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://vault.azure.net/.default"}}); err == nil || !strings.Contains(err.Error(), "AADSTS700027") {
		t.Fatalf("unregistered certificate: %v", err)
	}
	// The new service principal's secret works through the ARM SDK.
	spCred, err := azidentity.NewClientSecretCredential(w.admin.TenantID, sp.AppID, sp.Password,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: credOptions(w), DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	groups, _ := armresources.NewResourceGroupsClient(w.admin.SubscriptionID, spCred, w.armOptions())
	if _, err := groups.CreateOrUpdate(ctx, "sp-rg", armresources.ResourceGroup{Location: to.Ptr("westeurope")}, nil); err != nil {
		t.Fatalf("ARM call with a service principal token: %v", err)
	}
}

// setupWorkload creates an identity trusting the test issuer's subject.
func setupWorkload(t *testing.T, w *ward, is *oidcIssuer, subject string) string {
	t.Helper()
	ctx := context.Background()
	c := newSDK(t, w)
	if _, err := c.groups.CreateOrUpdate(ctx, "wl", armresources.ResourceGroup{Location: to.Ptr("westeurope")}, nil); err != nil {
		t.Fatal(err)
	}
	id, err := c.ids.CreateOrUpdate(ctx, "wl", "app-id", armmsi.Identity{Location: to.Ptr("westeurope")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.fics.CreateOrUpdate(ctx, "wl", "app-id", "k8s", armmsi.FederatedIdentityCredential{Properties: &armmsi.FederatedIdentityCredentialProperties{
		Issuer: to.Ptr(is.url), Subject: to.Ptr(subject), Audiences: []*string{to.Ptr("api://AzureADTokenExchange")}}}, nil); err != nil {
		t.Fatal(err)
	}
	return *id.Properties.ClientID
}

func TestWorkloadIdentityCredentials(t *testing.T) {
	is := newOIDCIssuer(t)
	w := startWard(t, "", "--issuer-ca-file", is.caFile)
	ctx := context.Background()
	const subject = "system:serviceaccount:default:workload-sa"
	clientID := setupWorkload(t, w, is, subject)
	tokenFile := filepath.Join(t.TempDir(), "azure-identity-token")
	if err := os.WriteFile(tokenFile, []byte(is.saToken(t, subject)), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("WorkloadIdentityCredential", func(t *testing.T) {
		cred, err := azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
			ClientOptions: credOptions(w), ClientID: clientID, TenantID: w.admin.TenantID, TokenFilePath: tokenFile, DisableInstanceDiscovery: true})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://management.azure.com/.default"}})
		if err != nil {
			t.Fatal(err)
		}
		c := verify(t, w, tok.Token)
		if c["appid"] != clientID || c["appidacr"] != "2" || !strings.HasSuffix(c["xms_mirid"].(string), "/userAssignedIdentities/app-id") {
			t.Fatalf("workload token claims = %v", c)
		}
		if life := time.Until(tok.ExpiresOn); life < 23*time.Hour {
			t.Fatalf("managed identity token lifetime %v, want about 24 h", life)
		}
		// A managed identity's token is refused for management writes.
		ids, _ := armmsi.NewUserAssignedIdentitiesClient(w.admin.SubscriptionID, cred, w.armOptions())
		_, err = ids.CreateOrUpdate(ctx, "wl", "sneaky", armmsi.Identity{Location: to.Ptr("westeurope")}, nil)
		if re := respErr(t, err); re.StatusCode != 403 || re.ErrorCode != "AuthorizationFailed" {
			t.Fatalf("managed identity ARM write: %d %s", re.StatusCode, re.ErrorCode)
		}
	})

	t.Run("ClientAssertionCredential", func(t *testing.T) {
		cred, err := azidentity.NewClientAssertionCredential(w.admin.TenantID, clientID, func(context.Context) (string, error) {
			return is.token(t, jwt.Claims{Issuer: is.url, Subject: subject, Audience: jwt.Audience{"api://AzureADTokenExchange"},
				IssuedAt: jwt.NewNumericDate(time.Now()), Expiry: jwt.NewNumericDate(time.Now().Add(time.Hour))}, jose.ES256, "ec-1"), nil
		}, &azidentity.ClientAssertionCredentialOptions{ClientOptions: credOptions(w), DisableInstanceDiscovery: true})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"11111111-2222-3333-4444-555555555555/.default"}})
		if err != nil {
			t.Fatal(err)
		}
		c := verify(t, w, tok.Token)
		if c["ver"] != "2.0" || c["azp"] != clientID || c["aud"] != "11111111-2222-3333-4444-555555555555" || c["iss"] != w.base+"/"+w.admin.TenantID+"/v2.0" {
			t.Fatalf("v2 token claims = %v", c)
		}
	})

	t.Run("DefaultAzureCredential from workload identity env", func(t *testing.T) {
		t.Setenv("AZURE_CLIENT_ID", clientID)
		t.Setenv("AZURE_TENANT_ID", w.admin.TenantID)
		t.Setenv("AZURE_FEDERATED_TOKEN_FILE", tokenFile)
		t.Setenv("AZURE_AUTHORITY_HOST", w.admin.AuthorityHost)
		t.Setenv("AZURE_TOKEN_CREDENTIALS", "prod")
		cred, err := azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{
			ClientOptions: policy.ClientOptions{Transport: w.http}, DisableInstanceDiscovery: true})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://vault.azure.net/.default"}})
		if err != nil {
			t.Fatal(err)
		}
		if c := verify(t, w, tok.Token); c["appid"] != clientID {
			t.Fatalf("DAC picked %v", c["appid"])
		}
	})

	t.Run("DefaultAzureCredential from client secret env", func(t *testing.T) {
		t.Setenv("AZURE_CLIENT_ID", w.admin.ClientID)
		t.Setenv("AZURE_TENANT_ID", w.admin.TenantID)
		t.Setenv("AZURE_CLIENT_SECRET", w.admin.ClientSecret)
		t.Setenv("AZURE_AUTHORITY_HOST", w.admin.AuthorityHost)
		t.Setenv("AZURE_TOKEN_CREDENTIALS", "EnvironmentCredential")
		cred, err := azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{
			ClientOptions: policy.ClientOptions{Transport: w.http}, DisableInstanceDiscovery: true})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://management.azure.com/.default"}})
		if err != nil {
			t.Fatal(err)
		}
		if c := verify(t, w, tok.Token); c["appid"] != w.admin.ClientID || c["appidacr"] != "1" {
			t.Fatalf("DAC (secret) claims %v", c)
		}
	})

	t.Run("sign-in log", func(t *testing.T) {
		deadline := time.Now().Add(5 * time.Second)
		for {
			out, errOut, code := w.cli("monitor", "sign-ins", "list", "--offset", "1h", "--query", "[?result=='success' && credential=='federated'].subject", "-o", "tsv")
			if code != 0 {
				t.Fatalf("monitor sign-ins list: %s", errOut)
			}
			if strings.Contains(out, subject) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("federated sign-in not in the log: %q", out)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}

// TestHostileAssertions sends forged and mistaken assertions to the token
// endpoint; each is refused with its AADSTS code and a useful description.
// What would have matched is explained only for real tokens of the issuer
// the identity trusts (see TestRefusedExchangeExplanation).
func TestHostileAssertions(t *testing.T) {
	t.Parallel()
	is := newOIDCIssuer(t)
	w := startWard(t, "", "--issuer-ca-file", is.caFile)
	const subject = "system:serviceaccount:default:app-sa"
	clientID := setupWorkload(t, w, is, subject)
	now := time.Now()
	valid := jwt.Claims{Issuer: is.url, Subject: subject, Audience: jwt.Audience{"api://AzureADTokenExchange"},
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(time.Hour))}
	with := func(f func(c *jwt.Claims)) jwt.Claims { c := valid; f(&c); return c }
	hs, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: x509.MarshalPKCS1PublicKey(&is.rsa.PublicKey)}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "rsa-1"))
	hsTok, _ := jwt.Signed(hs).Claims(valid).Serialize()
	validTok := is.token(t, valid, jose.RS256, "rsa-1")
	parts := strings.Split(validTok, ".")
	noneTok := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","kid":"rsa-1"}`)) + "." + parts[1] + "."
	big := is.token(t, with(func(c *jwt.Claims) { c.ID = strings.Repeat("x", 17<<10) }), jose.RS256, "rsa-1")
	// Same issuer, subject and audience, a later expiry: only the signature can catch it.
	var payload map[string]any
	json.Unmarshal([]byte(mustDecode(parts[1])), &payload)
	payload["exp"] = payload["exp"].(float64) + 3600
	forged, _ := json.Marshal(payload)
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString(forged) + "." + parts[2]

	cases := []struct {
		name, assertion string
		status          int
		code            int
		hint            string
	}{
		{"valid", validTok, 200, 0, ""},
		{"alg none", noneTok, 401, 700027, "'none'"},
		{"HS256 with the RSA public key", hsTok, 401, 700027, "HS256"},
		{"unknown kid", is.token(t, valid, jose.RS256, "rsa-9"), 401, 700027, "rsa-9"},
		{"signature over other claims", tampered, 401, 700027, "signature"},
		{"wrong issuer", is.token(t, with(func(c *jwt.Claims) { c.Issuer = "https://evil.example.com" }), jose.RS256, "rsa-1"), 401, 700211, "presented assertion issuer 'https://evil.example.com'. Please check"},
		{"issuer with an added trailing slash", is.token(t, with(func(c *jwt.Claims) { c.Issuer = is.url + "/" }), jose.RS256, "rsa-1"), 401, 700211, "presented assertion issuer '" + is.url + "/'"},
		{"subject off by one character", is.token(t, with(func(c *jwt.Claims) { c.Subject = "system:serviceaccount:default:app" }), jose.RS256, "rsa-1"), 401, 700213,
			"the identity has a credential for subject 'system:serviceaccount:default:app-sa'"},
		{"audience not in the credential", is.token(t, with(func(c *jwt.Claims) { c.Audience = jwt.Audience{"api://other"} }), jose.RS256, "rsa-1"), 401, 700212, "api://AzureADTokenExchange"},
		{"expired", is.token(t, with(func(c *jwt.Claims) { c.Expiry = jwt.NewNumericDate(now.Add(-time.Hour)) }), jose.RS256, "rsa-1"), 401, 700024, "valid time range"},
		{"nbf in the future", is.token(t, with(func(c *jwt.Claims) { c.NotBefore = jwt.NewNumericDate(now.Add(time.Hour)) }), jose.RS256, "rsa-1"), 401, 700024, "valid time range"},
		{"no exp", is.token(t, with(func(c *jwt.Claims) { c.Expiry = nil }), jose.RS256, "rsa-1"), 401, 700024, "valid time range"},
		{"token over 16 KiB", big, 400, 50027, "16384"},
		{"garbage", "not-a-jwt", 400, 50027, "malformed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			form := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "scope": {"https://management.azure.com/.default"},
				"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {tc.assertion}}
			status, body := postToken(t, w, w.admin.TenantID, form)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %v", status, tc.status, body)
			}
			if tc.code == 0 {
				return
			}
			desc, _ := body["error_description"].(string)
			codes, _ := body["error_codes"].([]any)
			if len(codes) != 1 || int(codes[0].(float64)) != tc.code || !strings.HasPrefix(desc, fmt.Sprintf("AADSTS%d: ", tc.code)) {
				t.Fatalf("got %v / %q, want AADSTS%d", codes, desc, tc.code)
			}
			if !strings.Contains(desc, tc.hint) || !strings.Contains(desc, "\r\nTrace ID: ") || body["trace_id"] == nil || body["correlation_id"] == nil {
				t.Fatalf("description %q lacks %q or Entra's trailer", desc, tc.hint)
			}
		})
	}
}

func mustDecode(s string) string {
	b, _ := base64.RawURLEncoding.DecodeString(s)
	return string(b)
}

func postToken(t *testing.T, w *ward, tenant string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := w.http.PostForm(w.base+"/"+tenant+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

func TestTokenEndpointErrors(t *testing.T) {
	t.Parallel()
	w := startWard(t, "")
	secret := url.Values{"grant_type": {"client_credentials"}, "client_id": {w.admin.ClientID}, "client_secret": {w.admin.ClientSecret},
		"scope":  {"https://management.azure.com/.default openid offline_access profile"},
		"claims": {`{"access_token":{"xms_cc":{"values":["CP1"]}}}`}, "client_info": {"1"}, "x-client-SKU": {"msal.js.node"}}
	set := func(k, v string) url.Values {
		f := url.Values{}
		for key, vals := range secret {
			f[key] = vals
		}
		if v == "" {
			f.Del(k)
		} else {
			f.Set(k, v)
		}
		return f
	}
	cases := []struct {
		name, tenant string
		form         url.Values
		status       int
		oauth        string
		code         int
	}{
		{"ok with CP1 claims, client_info and telemetry", w.admin.TenantID, secret, 200, "", 0},
		{"unknown tenant", "00000000-0000-0000-0000-000000000000", secret, 400, "invalid_request", 90002},
		{"malformed tenant", "not_a_tenant!", secret, 400, "invalid_request", 900023},
		{"unknown client", w.admin.TenantID, set("client_id", "99999999-9999-9999-9999-999999999999"), 400, "unauthorized_client", 700016},
		{"bad secret", w.admin.TenantID, set("client_secret", "wrong"), 401, "invalid_client", 7000215},
		{"no secret or assertion", w.admin.TenantID, set("client_secret", ""), 401, "invalid_client", 7000218},
		{"scope without /.default", w.admin.TenantID, set("scope", "https://management.azure.com/user_impersonation"), 400, "invalid_scope", 1002012},
		{"two resources", w.admin.TenantID, set("scope", "https://a/.default https://b/.default"), 400, "invalid_scope", 70011},
		{"missing scope", w.admin.TenantID, set("scope", ""), 400, "invalid_request", 900144},
		{"missing grant_type", w.admin.TenantID, set("grant_type", ""), 400, "invalid_request", 900144},
		{"other grant", w.admin.TenantID, set("grant_type", "password"), 400, "unsupported_grant_type", 70003},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := postToken(t, w, tc.tenant, tc.form)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %v", status, tc.status, body)
			}
			if tc.code == 0 {
				if body["token_type"] != "Bearer" || body["access_token"] == "" || body["expires_in"].(float64) < 3000 || body["ext_expires_in"] == nil {
					t.Fatalf("success body = %v", body)
				}
				return
			}
			if body["error"] != tc.oauth || int(body["error_codes"].([]any)[0].(float64)) != tc.code {
				t.Fatalf("got %v %v, want %s %d", body["error"], body["error_codes"], tc.oauth, tc.code)
			}
		})
	}
	// HTTP Basic client authentication and the v1 endpoint with resource=.
	req, _ := http.NewRequest("POST", w.base+"/"+w.admin.TenantID+"/oauth2/token",
		strings.NewReader(url.Values{"grant_type": {"client_credentials"}, "resource": {"https://management.core.windows.net/"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(w.admin.ClientID), url.QueryEscape(w.admin.ClientSecret))
	resp, err := w.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != 200 || body["resource"] != "https://management.core.windows.net/" || body["expires_on"] == nil {
		t.Fatalf("v1 + Basic: %d %v", resp.StatusCode, body)
	}
	if c := verify(t, w, body["access_token"].(string)); c["aud"] != "https://management.core.windows.net/" {
		t.Fatalf("v1 aud = %v", c["aud"])
	}
}

func TestKeyRotation(t *testing.T) {
	t.Parallel()
	w := startWard(t, "")
	ctx := context.Background()
	tokenFor := func() string {
		cred := w.adminCredential() // a new credential: no MSAL cache
		tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://vault.azure.net/.default"}})
		if err != nil {
			t.Fatal(err)
		}
		return tok.Token
	}
	before := tokenFor()
	out, errOut, code := w.cli("keys", "rotate")
	if code != 0 {
		t.Fatalf("keys rotate: %s", errOut)
	}
	var rot struct {
		Kid       string   `json:"kid"`
		Published []string `json:"published"`
	}
	json.Unmarshal([]byte(out), &rot)
	after := tokenFor()
	kid := func(raw string) string {
		tok, _ := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
		return tok.Headers[0].KeyID
	}
	if kid(after) != rot.Kid || kid(before) == kid(after) || len(rot.Published) != 2 {
		t.Fatalf("before %s, after %s, rotate said %+v", kid(before), kid(after), rot)
	}
	// Both verify against the JWKS published now.
	verify(t, w, before)
	verify(t, w, after)
	// And the management API still accepts a token signed before the rotation.
	req, _ := http.NewRequest("GET", w.base+"/subscriptions?api-version=2022-12-01", nil)
	req.Header.Set("Authorization", "Bearer "+w.adminToken())
	resp, err := w.http.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("old token after rotation: %v %v", err, resp.StatusCode)
	}
	resp.Body.Close()
}
