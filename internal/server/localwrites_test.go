package server_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/ward-id/ward/internal/server"
	"github.com/ward-id/ward/internal/server/servertest"
)

// kubeKID names a key as kube-apiserver does.
func kubeKID(t *testing.T, pub crypto.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// saToken signs a projected service-account token as kube-apiserver does.
func saToken(t *testing.T, key *rsa.PrivateKey, issuer, subject string) string {
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kubeKID(t, &key.PublicKey)))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	raw, err := jwt.Signed(s).Claims(jwt.Claims{Issuer: issuer, Subject: subject, Audience: jwt.Audience{"api://AzureADTokenExchange"},
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(time.Hour))}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func jwks(t *testing.T, keys ...*rsa.PrivateKey) string {
	var set jose.JSONWebKeySet
	for _, k := range keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.PublicKey, KeyID: kubeKID(t, &k.PublicKey), Algorithm: "RS256", Use: "sig"})
	}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// put sends an ARM write and fails the test unless it succeeded.
func put(t *testing.T, s *servertest.Server, tok, method, path, body string) map[string]any {
	t.Helper()
	resp, b := s.Do(t, method, path, tok, strings.NewReader(body))
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s = %d %.400s", method, path, resp.StatusCode, b)
	}
	var out map[string]any
	if len(b) > 0 {
		_ = json.Unmarshal(b, &out)
	}
	return out
}

// exchange trades a service-account token for an access token of the
// identity clientID, as DefaultAzureCredential's workload identity does.
func exchange(t *testing.T, s *servertest.Server, clientID, assertion, scope string) (string, error) {
	t.Helper()
	form := url.Values{"client_id": {clientID}, "grant_type": {"client_credentials"}, "scope": {scope},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion}}
	resp, b := s.Do(t, http.MethodPost, "/"+s.Admin.TenantID+"/oauth2/v2.0/token", "", strings.NewReader(form.Encode()), "Content-Type", "application/x-www-form-urlencoded")
	if resp.StatusCode != http.StatusOK {
		return "", &refused{status: resp.StatusCode, body: string(b)}
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(b, &tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token response %.300s: %v", b, err)
	}
	return tok.AccessToken, nil
}

type refused struct {
	status int
	body   string
}

func (r *refused) Error() string { return r.body }

// TestLocalWritesTakeEffectAtOnce: a write's answer leaves only once this
// replica's views (hosted issuer keys, token caches, RBAC index) apply it,
// so the caller's very next request, with no pause, sees it. The change
// feed is the one path to the views, for this replica's writes as for the
// others': SQLite has no change notifications and the poll is an hour
// here, so every subtest fails if the request's own catch-up is lost.
func TestLocalWritesTakeEffectAtOnce(t *testing.T) {
	s := servertest.Start(t, func(c *server.Config) { c.FeedPoll = time.Hour })
	tok := s.Token(t, s.URL)
	sub := "/subscriptions/" + s.Admin.SubscriptionID
	rg := sub + "/resourceGroups/rg"
	put(t, s, tok, http.MethodPut, rg+"?api-version=2021-04-01", `{"location":"westeurope"}`)
	idPath := rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app"
	id := put(t, s, tok, http.MethodPut, idPath+"?api-version=2023-01-31", `{"location":"westeurope"}`)
	props := id["properties"].(map[string]any)
	clientID, principalID := props["clientId"].(string), props["principalId"].(string)

	keyA, _ := rsa.GenerateKey(rand.Reader, 2048)
	keyB, _ := rsa.GenerateKey(rand.Reader, 2048)
	clusterPath := rg + "/providers/Microsoft.ContainerService/managedClusters/c1?api-version=2025-02-01"
	cluster := func(keys string) map[string]any {
		return put(t, s, tok, http.MethodPut, clusterPath, `{"location":"westeurope","properties":{"oidcIssuerProfile":{"enabled":true,"wardServiceAccountKeys":`+keys+`}}}`)
	}
	c := cluster(jwks(t, keyA))
	issuer := c["properties"].(map[string]any)["oidcIssuerProfile"].(map[string]any)["issuerURL"].(string)
	const subject = "system:serviceaccount:default:app"
	ficPath := idPath + "/federatedIdentityCredentials/fic?api-version=2023-01-31"
	put(t, s, tok, http.MethodPut, ficPath, `{"properties":{"issuer":"`+issuer+`","subject":"`+subject+`","audiences":["api://AzureADTokenExchange"]}}`)
	const arm = "https://management.azure.com/.default"

	t.Run("withdrawn cluster key", func(t *testing.T) {
		old := saToken(t, keyA, issuer, subject)
		for i := range 3 { // warm every cache: published keys, verified assertions, reuse
			if _, err := exchange(t, s, clientID, old, arm); err != nil {
				t.Fatalf("exchange %d with the published key: %v", i, err)
			}
		}
		cluster(jwks(t, keyB)) // withdraws key A
		if _, err := exchange(t, s, clientID, old, arm); err == nil {
			t.Fatal("a token signed with the withdrawn key was exchanged right after the withdrawal")
		}
		if _, err := exchange(t, s, clientID, saToken(t, keyB, issuer, subject), arm); err != nil {
			t.Fatalf("the new key: %v", err)
		}
	})

	t.Run("role revocation", func(t *testing.T) {
		const assignment = "5d7c1c0e-8f3a-4a57-9d2b-0c3f5e8e1a11"
		raPath := rg + "/providers/Microsoft.Authorization/roleAssignments/" + assignment + "?api-version=2022-04-01"
		put(t, s, tok, http.MethodPut, raPath, `{"properties":{"roleDefinitionId":"`+sub+`/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7","principalId":"`+principalID+`","principalType":"ServicePrincipal"}}`)
		mi, err := exchange(t, s, clientID, saToken(t, keyB, issuer, subject), s.URL+"/.default")
		if err != nil {
			t.Fatal(err)
		}
		if resp, b := s.Do(t, http.MethodGet, rg+"?api-version=2021-04-01", mi, nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("reader GET = %d %.300s", resp.StatusCode, b)
		}
		put(t, s, tok, http.MethodDelete, raPath, "")
		if resp, _ := s.Do(t, http.MethodGet, rg+"?api-version=2021-04-01", mi, nil); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("GET right after the revocation = %d, want 403", resp.StatusCode)
		}
	})

	// newIdentity creates an identity in group with a federated credential
	// for subject, and warms every cache with an exchange.
	newIdentity := func(t *testing.T, group, name, subject string) (clientID, path string) {
		t.Helper()
		path = sub + "/resourceGroups/" + group + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/" + name
		id := put(t, s, tok, http.MethodPut, path+"?api-version=2023-01-31", `{"location":"westeurope"}`)
		clientID = id["properties"].(map[string]any)["clientId"].(string)
		put(t, s, tok, http.MethodPut, path+"/federatedIdentityCredentials/fic?api-version=2023-01-31",
			`{"properties":{"issuer":"`+issuer+`","subject":"`+subject+`","audiences":["api://AzureADTokenExchange"]}}`)
		for i := range 2 {
			if _, err := exchange(t, s, clientID, saToken(t, keyB, issuer, subject), arm); err != nil {
				t.Fatalf("exchange %d: %v", i, err)
			}
		}
		return clientID, path
	}

	t.Run("federated credential creation", func(t *testing.T) {
		const other = "system:serviceaccount:default:other"
		assertion := saToken(t, keyB, issuer, other)
		if _, err := exchange(t, s, clientID, assertion, arm); err == nil {
			t.Fatal("exchanged for a subject no federated credential names")
		}
		put(t, s, tok, http.MethodPut, idPath+"/federatedIdentityCredentials/other?api-version=2023-01-31",
			`{"properties":{"issuer":"`+issuer+`","subject":"`+other+`","audiences":["api://AzureADTokenExchange"]}}`)
		if _, err := exchange(t, s, clientID, assertion, arm); err != nil {
			t.Fatalf("exchange right after the credential was created: %v", err)
		}
	})

	t.Run("identity deletion", func(t *testing.T) {
		const subject = "system:serviceaccount:default:gone"
		gone, path := newIdentity(t, "rg", "gone", subject)
		put(t, s, tok, http.MethodDelete, path+"?api-version=2023-01-31", "")
		if _, err := exchange(t, s, gone, saToken(t, keyB, issuer, subject), arm); err == nil {
			t.Fatal("exchanged for an identity right after its deletion")
		}
	})

	t.Run("resource group deletion", func(t *testing.T) {
		// The group's identity and credential go by cascade: their
		// tables' own changes must reach the token service.
		const subject = "system:serviceaccount:default:grouped"
		put(t, s, tok, http.MethodPut, sub+"/resourceGroups/doomed?api-version=2021-04-01", `{"location":"westeurope"}`)
		grouped, _ := newIdentity(t, "doomed", "grouped", subject)
		put(t, s, tok, http.MethodDelete, sub+"/resourceGroups/doomed?api-version=2021-04-01", "")
		if _, err := exchange(t, s, grouped, saToken(t, keyB, issuer, subject), arm); err == nil {
			t.Fatal("exchanged for an identity right after its resource group's deletion")
		}
	})

	t.Run("federated credential deletion", func(t *testing.T) {
		fresh := saToken(t, keyB, issuer, subject)
		if _, err := exchange(t, s, clientID, fresh, arm); err != nil {
			t.Fatal(err)
		}
		put(t, s, tok, http.MethodDelete, ficPath, "")
		if _, err := exchange(t, s, clientID, fresh, arm); err == nil {
			t.Fatal("exchanged through a federated credential right after its deletion")
		}
	})
}
