package e2e

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// kubeKID is how kube-apiserver names its keys: base64url SHA-256 of the
// PKIX DER public key.
func kubeKID(t *testing.T, pub crypto.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// apiserverToken signs a projected service-account token as kube-apiserver does.
func apiserverToken(t *testing.T, key *rsa.PrivateKey, issuer, subject string) string {
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

func exchange(t *testing.T, w *ward, clientID, token string) error {
	file := filepath.Join(t.TempDir(), "token")
	os.WriteFile(file, []byte(token), 0o600)
	cred, err := azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
		ClientOptions: credOptions(w), ClientID: clientID, TenantID: w.admin.TenantID, TokenFilePath: file, DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"https://management.azure.com/.default"}})
	return err
}

func TestKubeAPIServerKeys(t *testing.T) {
	t.Parallel()
	w := startWard(t, "")
	const subject = "system:serviceaccount:prod:api"
	mustCLI(t, w, "group", "create", "-n", "rg", "-l", "westeurope")
	clientID := strings.TrimSpace(mustCLI(t, w, "identity", "create", "-n", "api-id", "-g", "rg", "--query", "clientId", "-o", "tsv"))
	trust := func(cluster string) string {
		issuer := strings.TrimSpace(mustCLI(t, w, "aks", "show", "-n", cluster, "-g", "rg", "--query", "oidcIssuerProfile.issuerUrl", "-o", "tsv"))
		mustCLI(t, w, "identity", "federated-credential", "create", "--name", cluster+"-fic", "--identity-name", "api-id", "-g", "rg", "--issuer", issuer, "--subject", subject)
		return issuer
	}

	t.Run("Ward-managed key exported to kube-apiserver", func(t *testing.T) {
		mustCLI(t, w, "aks", "create", "-n", "managed", "-g", "rg", "--enable-oidc-issuer", "--enable-workload-identity")
		issuer := trust("managed")
		flags := mustCLI(t, w, "aks", "show-apiserver-flags", "-n", "managed", "-g", "rg")
		if !strings.Contains(flags, "--service-account-issuer="+issuer+"\n") || !strings.Contains(flags, "--service-account-jwks-uri="+issuer+"openid/v1/jwks") {
			t.Fatalf("apiserver flags:\n%s", flags)
		}
		keyFile := filepath.Join(t.TempDir(), "ward-sa.key")
		mustCLI(t, w, "aks", "get-service-account-signing-key", "-n", "managed", "-g", "rg", "--file", keyFile)
		st, _ := os.Stat(keyFile)
		if st.Mode().Perm() != 0o600 {
			t.Fatalf("key file mode %v", st.Mode().Perm())
		}
		b, _ := os.ReadFile(keyFile)
		block, _ := pem.Decode(b)
		parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		// A token signed outside Ward with that key, kid as the apiserver names it.
		if err := exchange(t, w, clientID, apiserverToken(t, parsed.(*rsa.PrivateKey), issuer, subject)); err != nil {
			t.Fatalf("apiserver-signed token: %v", err)
		}
		// The export is in the activity log.
		if out := mustCLI(t, w, "monitor", "activity-log", "list", "--offset", "1h", "--query", "[].operationName.value", "-o", "tsv"); !strings.Contains(out, "getServiceAccountSigningKey") {
			t.Fatalf("signing key export not audited:\n%s", out)
		}
	})

	t.Run("bring your own keys", func(t *testing.T) {
		mustCLI(t, w, "aks", "create", "-n", "byo", "-g", "rg", "--enable-oidc-issuer", "--enable-workload-identity")
		key, _ := rsa.GenerateKey(rand.Reader, 2048)
		der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
		pubFile := filepath.Join(t.TempDir(), "sa.pub")
		os.WriteFile(pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644)
		mustCLI(t, w, "aks", "update", "-n", "byo", "-g", "rg", "--service-account-public-key", "@"+pubFile)
		issuer := trust("byo")
		var set jose.JSONWebKeySet
		getJSON(t, w, issuer+"openid/v1/jwks", &set)
		if len(set.Keys) != 1 || set.Keys[0].KeyID != kubeKID(t, &key.PublicKey) {
			t.Fatalf("BYO JWKS = %+v", set.Keys)
		}
		if err := exchange(t, w, clientID, apiserverToken(t, key, issuer, subject)); err != nil {
			t.Fatalf("token from the cluster's own apiserver: %v", err)
		}
		other, _ := rsa.GenerateKey(rand.Reader, 2048)
		if err := exchange(t, w, clientID, apiserverToken(t, other, issuer, subject)); err == nil || !strings.Contains(err.Error(), "AADSTS700027") {
			t.Fatalf("token signed by another key: %v", err)
		}
		if _, errOut, code := w.cli("aks", "get-token", "--cluster", "byo", "-g", "rg", "--service-account", "api", "--namespace", "prod"); code == 0 || !strings.Contains(errOut, "bring your own") {
			t.Fatalf("get-token on a BYO cluster: %s", errOut)
		}
	})
}

// TestIssuerKeyRotation: tokens from before and after a rotation both
// verify against the issuer's JWKS and both exchange.
func TestIssuerKeyRotation(t *testing.T) {
	t.Parallel()
	w := startWard(t, "")
	const subject = "system:serviceaccount:default:app"
	mustCLI(t, w, "group", "create", "-n", "rg", "-l", "westeurope")
	mustCLI(t, w, "aks", "create", "-n", "c1", "-g", "rg", "--enable-oidc-issuer")
	issuer := strings.TrimSpace(mustCLI(t, w, "aks", "show", "-n", "c1", "-g", "rg", "--query", "oidcIssuerProfile.issuerUrl", "-o", "tsv"))
	clientID := strings.TrimSpace(mustCLI(t, w, "identity", "create", "-n", "app", "-g", "rg", "--query", "clientId", "-o", "tsv"))
	mustCLI(t, w, "identity", "federated-credential", "create", "--name", "c1-fic", "--identity-name", "app", "-g", "rg", "--issuer", issuer, "--subject", subject)
	token := func() string {
		return strings.TrimSpace(mustCLI(t, w, "aks", "get-token", "--cluster", "c1", "-g", "rg", "--service-account", "app", "--query", "token", "-o", "tsv"))
	}
	before := token()
	mustCLI(t, w, "aks", "rotate-service-account-signing-key", "-n", "c1", "-g", "rg")
	after := token()
	var set jose.JSONWebKeySet
	getJSON(t, w, issuer+"openid/v1/jwks", &set)
	kids := map[string]bool{}
	for _, raw := range []string{before, after} {
		tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
		if err != nil {
			t.Fatal(err)
		}
		keys := set.Key(tok.Headers[0].KeyID)
		var c jwt.Claims
		if len(keys) != 1 || tok.Claims(keys[0].Key, &c) != nil {
			t.Fatalf("token with kid %s does not verify against the JWKS after rotation", tok.Headers[0].KeyID)
		}
		kids[tok.Headers[0].KeyID] = true
		if err := exchange(t, w, clientID, raw); err != nil {
			t.Fatalf("exchange after rotation: %v", err)
		}
	}
	if len(kids) != 2 || len(set.Keys) != 2 {
		t.Fatalf("kids %v, published %d", kids, len(set.Keys))
	}
}
