package directory

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ward-id/ward/internal/authn"
	"github.com/ward-id/ward/internal/signer"
	"github.com/ward-id/ward/internal/storage"
)

// Authenticator identifies the caller.
type Authenticator interface {
	Authenticate(ctx context.Context, r *http.Request) (authn.Principal, error)
}

// Handler serves a Microsoft Graph–shaped API under /v1.0 (service
// principals, the sign-in log) and Ward's admin API under /ward/v1.
type Handler struct {
	Svc  *Service
	Auth Authenticator
	Keys *signer.Manager
	Log  *slog.Logger
	Base string // public URL
}

const maxBody = 1 << 20

// Claims reports whether the path belongs to this handler.
func Claims(path string) bool {
	p := strings.ToLower(path)
	return strings.HasPrefix(p, "/v1.0/") || strings.HasPrefix(p, "/ward/v1/")
}

type graphError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeErr(w http.ResponseWriter, status int, code, msg string) {
	var e graphError
	e.Error.Code, e.Error.Message = code, msg
	writeJSON(w, status, e)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

var altKeyRE = regexp.MustCompile(`^servicePrincipals\(appId='([^']+)'\)$`)

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			h.Log.Error("directory panic", "panic", v)
			writeErr(w, 500, "InternalServerError", "internal error")
		}
	}()
	p, err := h.Auth.Authenticate(r.Context(), r)
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="", authorization_uri="`+h.Base+`", error="invalid_token"`)
		writeErr(w, 401, "InvalidAuthenticationToken", "Access token validation failure: "+err.Error())
		return
	}
	if p.ManagedIdentity != "" {
		writeErr(w, 403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation: managed identities cannot manage the directory.")
		return
	}
	path := strings.Trim(r.URL.Path, "/")
	segs := strings.Split(path, "/")
	switch {
	case strings.EqualFold(path, "ward/v1/keys/rotate"):
		h.rotate(w, r)
	case strings.EqualFold(path, "v1.0/auditLogs/signIns"):
		h.signIns(w, r)
	case len(segs) == 2 && strings.EqualFold(segs[1], "servicePrincipals"):
		h.collection(w, r)
	case len(segs) >= 2 && altKeyRE.MatchString(segs[1]):
		h.item(w, r, altKeyRE.FindStringSubmatch(segs[1])[1], segs[2:])
	case len(segs) >= 3 && strings.EqualFold(segs[1], "servicePrincipals"):
		h.item(w, r, segs[2], segs[3:])
	default:
		writeErr(w, 404, "Request_ResourceNotFound", fmt.Sprintf("Resource '%s' does not exist.", r.URL.Path))
	}
}

func (h *Handler) fail(w http.ResponseWriter, err error) {
	var inv *InvalidError
	switch {
	case errors.Is(err, ErrNotFound):
		writeErr(w, 404, "Request_ResourceNotFound", err.Error())
	case errors.As(err, &inv):
		writeErr(w, 400, "Request_BadRequest", inv.Message)
	case errors.Is(err, storage.ErrAlreadyExists):
		writeErr(w, 409, "Request_MultipleObjectsWithSameKeyValue", err.Error())
	default:
		h.Log.Error("directory request failed", "err", err)
		writeErr(w, 500, "InternalServerError", "The directory hit an internal error.")
	}
}

func decode(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(b) > maxBody {
		return &InvalidError{"The request body is unreadable or larger than 1 MiB."}
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return &InvalidError{"The request body is not valid JSON: " + err.Error()}
	}
	return nil
}

// ---- JSON shapes ----

type passwordCredential struct {
	KeyID         string  `json:"keyId"`
	DisplayName   string  `json:"displayName"`
	Hint          string  `json:"hint"`
	StartDateTime string  `json:"startDateTime"`
	EndDateTime   string  `json:"endDateTime"`
	SecretText    *string `json:"secretText"`
}

type keyCredential struct {
	KeyID               string `json:"keyId"`
	Type                string `json:"type"`
	Usage               string `json:"usage"`
	CustomKeyIdentifier string `json:"customKeyIdentifier"`
	EndDateTime         string `json:"endDateTime"`
	Key                 string `json:"key,omitempty"`
	DisplayName         string `json:"displayName,omitempty"`
}

type spJSON struct {
	ODataType             string               `json:"@odata.type"`
	ID                    string               `json:"id"`
	AppID                 string               `json:"appId"`
	DisplayName           string               `json:"displayName"`
	AppOwnerTenantID      string               `json:"appOwnerOrganizationId"`
	ServicePrincipalNames []string             `json:"servicePrincipalNames"`
	ServicePrincipalType  string               `json:"servicePrincipalType"`
	AccountEnabled        bool                 `json:"accountEnabled"`
	CreatedDateTime       string               `json:"createdDateTime"`
	PasswordCredentials   []passwordCredential `json:"passwordCredentials"`
	KeyCredentials        []keyCredential      `json:"keyCredentials"`
}

func rfc(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func toJSON(sp ServicePrincipal) spJSON {
	j := spJSON{ODataType: "#microsoft.graph.servicePrincipal", ID: sp.ObjectID, AppID: sp.AppID, DisplayName: sp.DisplayName,
		AppOwnerTenantID: sp.TenantID, ServicePrincipalNames: []string{sp.AppID}, ServicePrincipalType: "Application",
		AccountEnabled: true, CreatedDateTime: rfc(sp.CreatedAt), PasswordCredentials: []passwordCredential{}, KeyCredentials: []keyCredential{}}
	for _, s := range sp.Secrets {
		j.PasswordCredentials = append(j.PasswordCredentials, passwordCredential{KeyID: s.KeyID, DisplayName: s.DisplayName, Hint: s.Hint,
			StartDateTime: rfc(s.CreatedAt), EndDateTime: rfc(s.ExpiresAt)})
	}
	for _, c := range sp.Certificates {
		j.KeyCredentials = append(j.KeyCredentials, keyCredential{KeyID: c.KeyID, Type: "AsymmetricX509Cert", Usage: "Verify",
			CustomKeyIdentifier: strings.ToUpper(c.Thumbprint), EndDateTime: rfc(c.ExpiresAt)})
	}
	return j
}

// ---- handlers ----

var (
	spnFilterRE  = regexp.MustCompile(`^servicePrincipalNames/any\(\w+:\s*\w+\s+eq\s+'([^']*)'\)$`)
	eqFilterRE   = regexp.MustCompile(`^(appId|displayName|id)\s+eq\s+'([^']*)'$`)
	sinceFilteRE = regexp.MustCompile(`^createdDateTime\s+ge\s+(\S+)$`)
)

func (h *Handler) collection(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	switch r.Method {
	case http.MethodGet:
		var appID, name, objectID string
		if f := strings.TrimSpace(r.URL.Query().Get("$filter")); f != "" {
			if m := spnFilterRE.FindStringSubmatch(f); m != nil {
				appID = m[1]
			} else if m := eqFilterRE.FindStringSubmatch(f); m != nil {
				switch m[1] {
				case "appId":
					appID = m[2]
				case "displayName":
					name = m[2]
				default:
					objectID = m[2]
				}
			} else {
				writeErr(w, 400, "Request_UnsupportedQuery", fmt.Sprintf("Unsupported $filter '%s'. Ward supports servicePrincipalNames/any(c:c eq '...'), appId eq '...', displayName eq '...' and id eq '...'.", f))
				return
			}
		}
		sps, err := h.Svc.List(ctx, appID, name)
		if err != nil {
			h.fail(w, err)
			return
		}
		out := []spJSON{}
		for _, sp := range sps {
			if objectID == "" || strings.EqualFold(sp.ObjectID, objectID) {
				out = append(out, toJSON(sp))
			}
		}
		writeJSON(w, 200, map[string]any{"@odata.context": h.Base + "/v1.0/$metadata#servicePrincipals", "value": out})
	case http.MethodPost:
		var body struct {
			DisplayName string `json:"displayName"`
		}
		if err := decode(r, &body); err != nil {
			h.fail(w, err)
			return
		}
		sp, err := h.Svc.Create(ctx, body.DisplayName)
		if err != nil {
			h.fail(w, err)
			return
		}
		writeJSON(w, 201, toJSON(sp))
	default:
		writeErr(w, 405, "Request_BadRequest", "Method not allowed.")
	}
}

func (h *Handler) item(w http.ResponseWriter, r *http.Request, id string, rest []string) {
	ctx := r.Context()
	action := ""
	if len(rest) > 0 {
		action = strings.ToLower(strings.Join(rest, "/"))
	}
	switch {
	case action == "" && r.Method == http.MethodGet:
		sp, err := h.Svc.Get(ctx, id)
		if err != nil {
			h.fail(w, err)
			return
		}
		writeJSON(w, 200, toJSON(sp))
	case action == "" && r.Method == http.MethodDelete:
		if err := h.Svc.Delete(ctx, id); err != nil {
			h.fail(w, err)
			return
		}
		w.WriteHeader(204)
	case action == "" && r.Method == http.MethodPatch:
		var body struct {
			KeyCredentials *[]keyCredential `json:"keyCredentials"`
		}
		if err := decode(r, &body); err != nil {
			h.fail(w, err)
			return
		}
		if body.KeyCredentials != nil {
			var ders [][]byte
			for i, kc := range *body.KeyCredentials {
				der, err := base64.StdEncoding.DecodeString(kc.Key)
				if err != nil || (kc.Type != "" && kc.Type != "AsymmetricX509Cert") {
					h.fail(w, &InvalidError{fmt.Sprintf("keyCredentials[%d]: type must be AsymmetricX509Cert and key the base64 DER certificate.", i)})
					return
				}
				ders = append(ders, der)
			}
			if _, err := h.Svc.ReplaceCertificates(ctx, id, ders); err != nil {
				h.fail(w, err)
				return
			}
		}
		w.WriteHeader(204)
	case action == "addpassword" && r.Method == http.MethodPost:
		var body struct {
			PasswordCredential struct {
				DisplayName string `json:"displayName"`
				EndDateTime string `json:"endDateTime"`
			} `json:"passwordCredential"`
		}
		if err := decode(r, &body); err != nil {
			h.fail(w, err)
			return
		}
		var end time.Time
		if e := body.PasswordCredential.EndDateTime; e != "" {
			var err error
			if end, err = time.Parse(time.RFC3339, e); err != nil {
				h.fail(w, &InvalidError{fmt.Sprintf("endDateTime '%s' is not an RFC 3339 time.", e)})
				return
			}
		}
		s, err := h.Svc.AddSecret(ctx, id, body.PasswordCredential.DisplayName, end)
		if err != nil {
			h.fail(w, err)
			return
		}
		writeJSON(w, 200, passwordCredential{KeyID: s.KeyID, DisplayName: s.DisplayName, Hint: s.Hint,
			StartDateTime: rfc(s.Start), EndDateTime: rfc(s.End), SecretText: &s.SecretText})
	case action == "removepassword" && r.Method == http.MethodPost:
		var body struct {
			KeyID string `json:"keyId"`
		}
		if err := decode(r, &body); err != nil {
			h.fail(w, err)
			return
		}
		if err := h.Svc.RemoveSecret(ctx, id, body.KeyID); err != nil {
			h.fail(w, err)
			return
		}
		w.WriteHeader(204)
	default:
		writeErr(w, 400, "Request_BadRequest", fmt.Sprintf("Unsupported request %s %s.", r.Method, r.URL.Path))
	}
}

type signInJSON struct {
	ID                        string `json:"id"`
	CreatedDateTime           string `json:"createdDateTime"`
	AppID                     string `json:"appId"`
	ServicePrincipalID        string `json:"servicePrincipalId"`
	ManagedIdentityResourceID string `json:"managedIdentityResourceId,omitempty"`
	ResourceID                string `json:"resourceId"`
	CredentialType            string `json:"clientCredentialType"`
	Result                    string `json:"result"`
	Status                    struct {
		ErrorCode     int    `json:"errorCode"`
		FailureReason string `json:"failureReason,omitempty"`
	} `json:"status"`
	FederatedIssuer  string `json:"federatedTokenIssuer,omitempty"`
	FederatedSubject string `json:"federatedTokenId,omitempty"`
}

// signIns lists the sign-in log: $filter=createdDateTime ge <RFC3339>, $top.
func (h *Handler) signIns(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		writeErr(w, 405, "Request_BadRequest", "Method not allowed.")
		return
	}
	since := h.Svc.Now().Add(-24 * time.Hour)
	if f := strings.TrimSpace(r.URL.Query().Get("$filter")); f != "" {
		m := sinceFilteRE.FindStringSubmatch(f)
		var err error
		if m == nil {
			err = errors.New("unsupported")
		} else {
			since, err = time.Parse(time.RFC3339, m[1])
		}
		if err != nil {
			writeErr(w, 400, "Request_UnsupportedQuery", fmt.Sprintf("Unsupported $filter '%s': use createdDateTime ge <RFC 3339 time>.", f))
			return
		}
	}
	top := 100
	if t := r.URL.Query().Get("$top"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 1 || n > 1000 {
			writeErr(w, 400, "Request_BadRequest", "$top must be a whole number from 1 to 1000.")
			return
		}
		top = n
	}
	items, err := h.Svc.Store.ListSignIns(r.Context(), since, top)
	if err != nil {
		h.fail(w, err)
		return
	}
	out := []signInJSON{}
	for _, s := range items {
		j := signInJSON{ID: s.ID, CreatedDateTime: s.Time.UTC().Format(time.RFC3339Nano), AppID: s.ClientID, ServicePrincipalID: s.PrincipalID,
			ManagedIdentityResourceID: s.IdentityID, ResourceID: s.Resource, CredentialType: s.Credential, Result: s.Result,
			FederatedIssuer: s.Issuer, FederatedSubject: s.Subject}
		j.Status.ErrorCode, j.Status.FailureReason = s.ErrorCode, s.Reason
		out = append(out, j)
	}
	writeJSON(w, 200, map[string]any{"value": out})
}

func (h *Handler) rotate(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeErr(w, 405, "Request_BadRequest", "POST to rotate the signing key.")
		return
	}
	k, err := h.Keys.Rotate(r.Context())
	if err != nil {
		h.fail(w, err)
		return
	}
	var published []string
	for _, pk := range h.Keys.JWKS().Keys {
		published = append(published, pk.KeyID)
	}
	writeJSON(w, 200, map[string]any{"kid": k.ID, "alg": k.Alg, "activeFrom": rfc(k.ActiveFrom), "published": published})
}
