package e2e

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

func exchangeForm(clientID, assertion string) url.Values {
	return url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "scope": {"https://management.azure.com/.default"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion}}
}

// refusal posts an exchange and returns the AADSTS code and description.
func refusal(t *testing.T, w *ward, form url.Values) (int, string) {
	t.Helper()
	status, body := postToken(t, w, w.admin.TenantID, form)
	codes, _ := body["error_codes"].([]any)
	desc, _ := body["error_description"].(string)
	if status != 401 || len(codes) != 1 {
		t.Fatalf("HTTP %d %v, want a 401 refusal", status, body)
	}
	return int(codes[0].(float64)), desc
}

// signInReason waits for the sign-in log's refusal of clientID with code
// and returns its reason.
func signInReason(t *testing.T, w *ward, clientID string, code int) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, errOut, rc := w.cli("monitor", "sign-ins", "list", "--offset", "1h", "-o", "json")
		if rc != 0 {
			t.Fatalf("monitor sign-ins list: %s", errOut)
		}
		var rows []map[string]any
		json.Unmarshal([]byte(out), &rows)
		for _, r := range rows {
			if r["clientId"] == clientID && fmt.Sprint(r["errorCode"]) == fmt.Sprint(code) {
				return fmt.Sprint(r["reason"])
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no AADSTS%d refusal of %s in the sign-in log: %s", code, clientID, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestRefusedExchangeExplanation: what would have matched is told to a
// caller that presents a real token of the identity's issuer, and to
// nobody else; the sign-in log has it in both cases.
func TestRefusedExchangeExplanation(t *testing.T) {
	t.Parallel()
	is := newOIDCIssuer(t)
	w := startWard(t, "", "--issuer-ca-file", is.caFile)
	const subject = "system:serviceaccount:default:app-sa"
	const explanation = "Ward: the identity has a credential for subject '" + subject + "'"
	forgedFor := setupWorkload(t, w, is, subject)
	// A second identity with the same credential, so that each refusal has
	// a sign-in record of its own.
	validFor := strings.TrimSpace(mustCLI(t, w, "identity", "create", "-n", "app-id2", "-g", "wl", "--query", "clientId", "-o", "tsv"))
	mustCLI(t, w, "identity", "federated-credential", "create", "--name", "k8s", "--identity-name", "app-id2", "-g", "wl", "--issuer", is.url, "--subject", subject)
	now := time.Now()
	claims := func(sub string) jwt.Claims {
		return jwt.Claims{Issuer: is.url, Subject: sub, Audience: jwt.Audience{"api://AzureADTokenExchange"},
			IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(time.Hour))}
	}

	t.Run("forged assertion: Entra's plain text", func(t *testing.T) {
		other, _ := rsa.GenerateKey(rand.Reader, 2048)
		s, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: other}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "rsa-1"))
		forged, _ := jwt.Signed(s).Claims(claims("system:serviceaccount:default:app-sb")).Serialize()
		code, desc := refusal(t, w, exchangeForm(forgedFor, forged))
		want := "AADSTS700213: No matching federated identity record found for presented assertion subject 'system:serviceaccount:default:app-sb'. " +
			"Check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation\r\nTrace ID: "
		if code != 700213 || !strings.HasPrefix(desc, want) || strings.Contains(desc, "Ward") || strings.Contains(desc, subject) {
			t.Fatalf("AADSTS%d %q, want Entra's plain text without the identity's subject", code, desc)
		}
		if reason := signInReason(t, w, forgedFor, 700213); !strings.Contains(reason, explanation) {
			t.Fatalf("sign-in reason %q lacks %q", reason, explanation)
		}
	})

	t.Run("real token of the trusted issuer: explained", func(t *testing.T) {
		code, desc := refusal(t, w, exchangeForm(validFor, is.token(t, claims("system:serviceaccount:default:app"), jose.RS256, "rsa-1")))
		if code != 700213 || !strings.Contains(desc, explanation) {
			t.Fatalf("AADSTS%d %q, want the explanation %q", code, desc, explanation)
		}
		if reason := signInReason(t, w, validFor, 700213); !strings.Contains(reason, explanation) {
			t.Fatalf("sign-in reason %q lacks %q", reason, explanation)
		}
	})
}

// TestLoopbackIssuerRefusedByDefault: without --allow-loopback-issuers an
// external issuer on 127.0.0.1 is refused with a clear AADSTS error, while
// Ward's own hosted issuers (resolved in-process, never fetched) work.
func TestLoopbackIssuerRefusedByDefault(t *testing.T) {
	t.Parallel()
	is := newOIDCIssuer(t)
	w := startWard(t, "", "--issuer-ca-file", is.caFile, "--allow-loopback-issuers=false")
	const subject = "system:serviceaccount:default:app-sa"
	clientID := setupWorkload(t, w, is, subject)
	code, desc := refusal(t, w, exchangeForm(clientID, is.saToken(t, subject)))
	want := fmt.Sprintf("AADSTS50166: Request to External OIDC endpoint failed: issuer '%s' is refused: its host is a loopback address, "+
		"which Ward does not fetch keys from unless the server is started with --allow-loopback-issuers.\r\n", is.url)
	if code != 50166 || !strings.HasPrefix(desc, want) {
		t.Fatalf("AADSTS%d %q, want %q", code, desc, want)
	}

	// The hosted issuer lives on the same loopback address as Ward.
	mustCLI(t, w, "group", "create", "-n", "rg", "-l", "westeurope")
	issuer := strings.TrimSpace(mustCLI(t, w, "aks", "create", "-n", "aks1", "-g", "rg", "--enable-managed-identity", "--enable-oidc-issuer",
		"--enable-workload-identity", "--query", "oidcIssuerProfile.issuerUrl", "-o", "tsv"))
	mustCLI(t, w, "identity", "federated-credential", "create", "--name", "aks1", "--identity-name", "app-id", "-g", "wl", "--issuer", issuer, "--subject", subject)
	raw := strings.TrimSpace(mustCLI(t, w, "aks", "get-token", "--cluster", "aks1", "-g", "rg", "--namespace", "default", "--service-account", "app-sa", "--query", "token", "-o", "tsv"))
	if status, body := postToken(t, w, w.admin.TenantID, exchangeForm(clientID, raw)); status != 200 {
		t.Fatalf("hosted issuer %s without --allow-loopback-issuers: HTTP %d %v", issuer, status, body)
	}
}
