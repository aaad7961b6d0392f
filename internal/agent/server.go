package agent

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/ward-id/ward/internal/agentproto"
	"github.com/ward-id/ward/internal/challenge"
	"github.com/ward-id/ward/internal/httpbody"
)

// ServerConfig configures the protocol endpoints.
type ServerConfig struct {
	// RateLimit (requests per second) and MaxConcurrent bound the requests
	// of the whole machine, as Azure bounds each VM's; 0 takes the
	// defaults, negative turns the bound off.
	RateLimit     float64
	MaxConcurrent int
	// HostNetworkOnly refuses IMDS requests whose source address is not one
	// of this host's own: only host-network processes (kubelet, node
	// daemons), not pods, reach the node's identities.
	HostNetworkOnly bool
	// AppServiceSecret is the IDENTITY_HEADER the App Service endpoint
	// requires ("" disables the endpoint).
	AppServiceSecret string
	// ArcTokenDir holds the Azure Arc challenge files; ArcTokenGID, when
	// >= 0, is the group that may read them (himds).
	ArcTokenDir string
	ArcTokenGID int
	// NodeName is the Kubernetes node's name, for instance metadata.
	NodeName string
	Now      func() time.Time
	Logger   *slog.Logger
}

// Server serves the IMDS, App Service and Azure Arc protocols for an
// Agent.
type Server struct {
	agent    *Agent
	cfg      ServerConfig
	log      *slog.Logger
	limiter  *rate.Limiter
	inflight atomic.Int32
	local    localAddrs

	arcMu   sync.Mutex
	arcKeys map[string]arcKey // sha256(secret) hex -> challenge
}

type arcKey struct {
	path    string
	expires time.Time
}

// NewServer returns the protocol endpoints of a.
func NewServer(a *Agent, cfg ServerConfig) *Server {
	if cfg.RateLimit == 0 {
		cfg.RateLimit = DefaultRateLimit
	}
	if cfg.MaxConcurrent == 0 {
		cfg.MaxConcurrent = DefaultMaxConcurrent
	}
	if cfg.ArcTokenDir == "" {
		cfg.ArcTokenDir = DefaultArcTokenDir
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{agent: a, cfg: cfg, log: cfg.Logger, arcKeys: map[string]arcKey{}}
	if cfg.RateLimit > 0 {
		s.limiter = rate.NewLimiter(rate.Limit(cfg.RateLimit), max(1, int(cfg.RateLimit)))
	}
	return s
}

// imdsError is the error body every protocol answers with.
type imdsError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	httpbody.WriteJSON(w, status, v, []byte(`{"error":"unknown_error","error_description":"the agent could not encode the response"}`))
}

func fail(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, imdsError{Error: code, Description: desc})
}

// The protocols' errors, worded as IMDS words them.
const (
	descNoMetadata     = "Required metadata header not specified"
	descNotFound       = "Identity not found"
	descMultiple       = "Multiple user assigned identities exist, please specify the clientId / resourceId of the identity in the token request"
	descForwarded      = "Requests carrying %s are not accepted: the metadata service answers only requests made on this machine, never one relayed by a proxy"
	descForeignHost    = "Requests for host %s are not accepted: this endpoint answers only requests addressed to it (%s); a request naming another host may come from a web page that re-bound its name to this address"
	descThrottled      = "Too many requests: managed identity requests are limited per machine (%g per second, %d at a time); retry after a second"
	descUnknown        = "Failed to retrieve token from the Active directory. For details see logs in the managed identity agent"
	descNoAPIVersion   = "Required query variable 'api-version' is missing"
	descNoResource     = "Required query variable 'resource' is missing"
	descTwoSelectors   = "Only one of client_id, object_id and msi_res_id may be given"
	descUnreachable    = "The metadata endpoint is unreachable from this network namespace: this node's agent serves host-network processes only"
	descNoIdentityHdr  = "The X-IDENTITY-HEADER header is missing or does not match IDENTITY_HEADER"
	descNoSecret2017   = "The secret header is missing or does not match MSI_SECRET (api-version 2017-09-01)"
	descAPIVersionMeta = "Bad request. api-version was not specified in the request. For more information refer to aka.ms/azureimds"
)

// admit applies the machine's rate and concurrency limits; release must be
// called when it returns true.
func (s *Server) admit(w http.ResponseWriter) (release func(), ok bool) {
	if s.cfg.MaxConcurrent > 0 {
		if n := s.inflight.Add(1); int(n) > s.cfg.MaxConcurrent {
			s.inflight.Add(-1)
			s.throttled(w)
			return nil, false
		}
	} else {
		s.inflight.Add(1)
	}
	if s.limiter != nil && !s.limiter.Allow() {
		s.inflight.Add(-1)
		s.throttled(w)
		return nil, false
	}
	return func() { s.inflight.Add(-1) }, true
}

func (s *Server) throttled(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "1")
	fail(w, http.StatusTooManyRequests, "too_many_requests", fmt.Sprintf(descThrottled, s.cfg.RateLimit, s.cfg.MaxConcurrent))
}

// IMDSHandler serves 169.254.169.254: the token endpoint (with and without
// a trailing slash) and instance metadata. Each protocol's handler passes
// every request through guard first.
func (s *Server) IMDSHandler() http.Handler {
	return guard(listenIMDS, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.HostNetworkOnly && !s.local.contains(r.RemoteAddr) {
			// 403 with "unreachable": the Azure SDKs take it as "no
			// managed identity here" and move on.
			fail(w, http.StatusForbidden, "forbidden", descUnreachable)
			return
		}
		s.metadata(w, r, false)
	}))
}

// ArcHandler serves Azure Arc's endpoint (127.0.0.1:40342): the token
// endpoint behind the challenge file, and instance metadata.
func (s *Server) ArcHandler() http.Handler {
	return guard(listenArc, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.metadata(w, r, true)
	}))
}

// metadata routes IMDS's paths, which Azure Arc's endpoint shares (arc:
// the token endpoint wants the challenge file's secret).
func (s *Server) metadata(w http.ResponseWriter, r *http.Request, arc bool) {
	switch strings.TrimSuffix(r.URL.Path, "/") {
	case PathIMDSToken:
		s.imdsToken(w, r, arc)
	case PathIMDSInstance:
		s.instance(w, r)
	default:
		fail(w, http.StatusNotFound, "not_found", "No such metadata path: the agent serves "+PathIMDSToken+" and "+PathIMDSInstance)
	}
}

// AppServiceHandler serves App Service's endpoint: IDENTITY_ENDPOINT is
// http://<addr>/msi/token, IDENTITY_HEADER the configured secret.
func (s *Server) AppServiceHandler() http.Handler {
	return guard(listenAppService, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.TrimSuffix(r.URL.Path, "/") != PathAppServiceToken {
			fail(w, http.StatusNotFound, "not_found", "No such path: the App Service endpoint is "+PathAppServiceToken)
			return
		}
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", http.MethodGet)
			fail(w, http.StatusMethodNotAllowed, "invalid_request", "Only GET is supported")
			return
		}
		q := r.URL.Query()
		// The 2017 protocol carries the secret in its own header.
		old := q.Get(ParamAPIVersion) == AppService2017
		got, desc := r.Header.Get(HeaderIdentity), descNoIdentityHdr
		if old {
			got, desc = r.Header.Get(HeaderSecret2017), descNoSecret2017
		}
		if s.cfg.AppServiceSecret == "" || subtle.ConstantTimeCompare([]byte(got), []byte(s.cfg.AppServiceSecret)) != 1 {
			fail(w, http.StatusUnauthorized, "unauthorized", desc)
			return
		}
		release, ok := s.admit(w)
		if !ok {
			return
		}
		defer release()
		if q.Get(ParamAPIVersion) == "" {
			fail(w, http.StatusBadRequest, "invalid_request", descNoAPIVersion)
			return
		}
		clientID := q.Get(ParamClientID)
		if old {
			clientID = firstOf(q.Get(ParamClientID2017), clientID)
		}
		sel, echo, ok := selector(w, clientID, firstOf(q.Get(ParamObjectID), q.Get(ParamPrincipal)), firstOf(q.Get(ParamMIResID), q.Get(ParamMSIResID)))
		if !ok {
			return
		}
		t, ok := s.token(w, r, sel, q.Get(ParamResource))
		if !ok {
			return
		}
		if old {
			writeJSON(w, http.StatusOK, appServiceToken{AccessToken: t.AccessToken, ExpiresOn: t.ExpiresOn.UTC().Format(expiresOn2017Layout), Resource: t.Resource,
				TokenType: "Bearer", ClientID: t.Identity.ClientID, ObjectID: echo.objectID, MIResID: echo.resID})
			return
		}
		writeJSON(w, http.StatusOK, appServiceToken{AccessToken: t.AccessToken, ExpiresOn: strconv.FormatInt(t.ExpiresOn.Unix(), 10), Resource: t.Resource,
			TokenType: "Bearer", ClientID: t.Identity.ClientID, ObjectID: echo.objectID, MIResID: echo.resID})
	}))
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// echoed is the selector a response repeats, as MSAL's Azure Arc client
// demands.
type echoed struct{ objectID, resID string }

// selector reads the identity selector (at most one).
func selector(w http.ResponseWriter, clientID, objectID, resID string) (Selector, echoed, bool) {
	n := 0
	for _, v := range []string{clientID, objectID, resID} {
		if v != "" {
			n++
		}
	}
	if n > 1 {
		fail(w, http.StatusBadRequest, "invalid_request", descTwoSelectors)
		return Selector{}, echoed{}, false
	}
	return Selector{ClientID: clientID, ObjectID: objectID, ResourceID: resID}, echoed{objectID: objectID, resID: resID}, true
}

// metadataRequest applies what every IMDS endpoint checks first, as
// Azure's does: GET only, the Metadata: true header (guard has refused
// forwarded requests and foreign hosts); then admits the request under the rate limit. ok false means
// the answer is written.
func (s *Server) metadataRequest(w http.ResponseWriter, r *http.Request) (release func(), ok bool) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		fail(w, http.StatusMethodNotAllowed, "invalid_request", "Only GET is supported")
		return nil, false
	}
	if r.Header.Get(HeaderMetadata) != "true" {
		fail(w, http.StatusBadRequest, "bad_request_102", descNoMetadata)
		return nil, false
	}
	return s.admit(w)
}

// imdsToken serves IMDS's and Azure Arc's token endpoint.
func (s *Server) imdsToken(w http.ResponseWriter, r *http.Request, arc bool) {
	release, ok := s.metadataRequest(w, r)
	if !ok {
		return
	}
	defer release()
	if arc && !s.arcAuthorized(w, r) {
		return
	}
	q := r.URL.Query()
	if q.Get(ParamAPIVersion) == "" {
		fail(w, http.StatusBadRequest, "invalid_request", descNoAPIVersion)
		return
	}
	sel, echo, ok := selector(w, q.Get(ParamClientID), firstOf(q.Get(ParamObjectID), q.Get(ParamPrincipal)), firstOf(q.Get(ParamMSIResID), q.Get(ParamMIResID)))
	if !ok {
		return
	}
	t, ok := s.token(w, r, sel, q.Get(ParamResource))
	if !ok {
		return
	}
	now := s.cfg.Now()
	in := strconv.FormatInt(max(0, int64(t.ExpiresOn.Sub(now)/time.Second)), 10)
	body := imdsToken{AccessToken: t.AccessToken, ClientID: t.Identity.ClientID, ExpiresIn: in, ExpiresOn: strconv.FormatInt(t.ExpiresOn.Unix(), 10),
		ExtExpiresIn: in, NotBefore: strconv.FormatInt(t.NotBefore.Unix(), 10), Resource: t.Resource, TokenType: "Bearer"}
	body.ObjectID, body.MSIResID = echo.objectID, echo.resID
	writeJSON(w, http.StatusOK, body)
}

// imdsToken is IMDS's (and Azure Arc's) token response: every number a
// string, the selector echoed (MSAL's Azure Arc client requires it).
type imdsToken struct {
	AccessToken  string `json:"access_token"`
	ClientID     string `json:"client_id"`
	ExpiresIn    string `json:"expires_in"`
	ExpiresOn    string `json:"expires_on"`
	ExtExpiresIn string `json:"ext_expires_in"`
	NotBefore    string `json:"not_before"`
	Resource     string `json:"resource"`
	TokenType    string `json:"token_type"`
	ObjectID     string `json:"object_id,omitempty"`
	MSIResID     string `json:"msi_res_id,omitempty"`
}

// appServiceToken is App Service's (2019-08-01) token response.
type appServiceToken struct {
	AccessToken string `json:"access_token"`
	ExpiresOn   string `json:"expires_on"`
	Resource    string `json:"resource"`
	TokenType   string `json:"token_type"`
	ClientID    string `json:"client_id"`
	ObjectID    string `json:"object_id,omitempty"`
	MIResID     string `json:"mi_res_id,omitempty"`
}

// token gets the token or writes the protocol's error.
func (s *Server) token(w http.ResponseWriter, r *http.Request, sel Selector, resource string) (Token, bool) {
	if resource == "" {
		fail(w, http.StatusBadRequest, "invalid_request", descNoResource)
		return Token{}, false
	}
	t, err := s.agent.Token(r.Context(), sel, resource)
	var refused *agentproto.RefusedError
	switch {
	case err == nil:
		return t, true
	case errors.As(err, &refused):
		// An attached identity Ward no longer serves (re-created under its
		// name since it was attached): IMDS's answer for a missing identity,
		// with the reason an administrator needs.
		fail(w, http.StatusBadRequest, "invalid_request", descNotFound+": "+refused.Error())
	case errors.Is(err, agentproto.ErrIdentityNotFound), errors.Is(err, ErrRevoked):
		fail(w, http.StatusBadRequest, "invalid_request", descNotFound)
	case errors.Is(err, agentproto.ErrAmbiguous):
		fail(w, http.StatusBadRequest, "invalid_request", descMultiple)
	case errors.Is(err, ErrNotReady):
		// IMDS answers 410 while it is not yet ready (the SDKs retry).
		fail(w, http.StatusGone, "unavailable", "The managed identity agent is starting; retry shortly")
	default:
		var we *WardError
		if errors.As(err, &we) && we.Status == http.StatusBadRequest {
			fail(w, http.StatusBadRequest, "invalid_resource", we.Description)
			break
		}
		s.log.Warn("token request failed", "resource", resource, "err", err)
		fail(w, http.StatusInternalServerError, "unknown", descUnknown)
	}
	return Token{}, false
}

// arcAuthorized implements Azure Arc's challenge: without a valid
// Authorization: Basic <secret>, answer 401 naming a fresh file holding
// the secret, readable only by root and the himds group. A secret is used
// once and expires after a minute.
func (s *Server) arcAuthorized(w http.ResponseWriter, r *http.Request) bool {
	if auth := r.Header.Get("Authorization"); auth != "" {
		secret, ok := strings.CutPrefix(auth, "Basic ")
		if ok && s.useArcSecret(strings.TrimSpace(secret)) {
			return true
		}
	}
	path, err := s.newArcChallenge()
	if err != nil {
		if errors.Is(err, errTooManyChallenges) {
			s.throttled(w)
			return false
		}
		s.log.Error("azure arc challenge", "err", err)
		fail(w, http.StatusInternalServerError, "unknown", "The agent could not write its challenge file; see its log")
		return false
	}
	w.Header().Set(challenge.Header, "Basic realm="+path)
	fail(w, http.StatusUnauthorized, "unauthorized", "Read the file named in WWW-Authenticate and retry with Authorization: Basic <its contents>")
	return false
}

var errTooManyChallenges = errors.New("too many outstanding challenges")

func (s *Server) newArcChallenge() (string, error) {
	now := s.cfg.Now()
	s.arcMu.Lock()
	defer s.arcMu.Unlock()
	if len(s.arcKeys) >= maxArcChallenges {
		s.expireArcLocked(now)
		if len(s.arcKeys) >= maxArcChallenges {
			return "", errTooManyChallenges
		}
	}
	name := make([]byte, 16)
	secret := make([]byte, 32)
	_, _ = rand.Read(name)
	_, _ = rand.Read(secret)
	path := filepath.Join(s.cfg.ArcTokenDir, hex.EncodeToString(name)+".key")
	value := base64.RawURLEncoding.EncodeToString(secret)
	mode := os.FileMode(0o600)
	if s.cfg.ArcTokenGID >= 0 {
		mode = 0o640
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return "", err
	}
	if s.cfg.ArcTokenGID >= 0 {
		if err := f.Chown(-1, s.cfg.ArcTokenGID); err != nil {
			f.Close()
			os.Remove(path)
			return "", err
		}
	}
	if _, err := f.WriteString(value); err != nil {
		f.Close()
		os.Remove(path)
		return "", err
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return "", err
	}
	sum := sha256.Sum256([]byte(value))
	s.arcKeys[hex.EncodeToString(sum[:])] = arcKey{path: path, expires: now.Add(arcKeyLifetime)}
	return path, nil
}

func (s *Server) useArcSecret(secret string) bool {
	sum := sha256.Sum256([]byte(secret))
	k := hex.EncodeToString(sum[:])
	s.arcMu.Lock()
	defer s.arcMu.Unlock()
	c, ok := s.arcKeys[k]
	if !ok {
		return false
	}
	delete(s.arcKeys, k)
	os.Remove(c.path)
	return s.cfg.Now().Before(c.expires)
}

func (s *Server) expireArcLocked(now time.Time) {
	for k, c := range s.arcKeys {
		if !now.Before(c.expires) {
			os.Remove(c.path)
			delete(s.arcKeys, k)
		}
	}
}

// Run removes expired challenge files until ctx ends, then all of them.
func (s *Server) Run(ctx context.Context) {
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			s.arcMu.Lock()
			for k, c := range s.arcKeys {
				os.Remove(c.path)
				delete(s.arcKeys, k)
			}
			s.arcMu.Unlock()
			return
		case <-t.C:
			s.arcMu.Lock()
			s.expireArcLocked(s.cfg.Now())
			s.arcMu.Unlock()
		}
	}
}

// instance serves /metadata/instance: what the agent knows of its machine,
// nothing invented.
func (s *Server) instance(w http.ResponseWriter, r *http.Request) {
	release, ok := s.metadataRequest(w, r)
	if !ok {
		return
	}
	defer release()
	if r.URL.Query().Get(ParamAPIVersion) == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": descAPIVersionMeta})
		return
	}
	st, err := s.agent.State()
	if err != nil {
		fail(w, http.StatusNotFound, "not_found", "The agent serves no machine: "+err.Error())
		return
	}
	keys := make([]string, 0, len(st.Tags))
	for k := range st.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var pairs []string
	list := []map[string]string{}
	for _, k := range keys {
		pairs = append(pairs, k+":"+st.Tags[k])
		list = append(list, map[string]string{"name": k, "value": st.Tags[k]})
	}
	compute := map[string]any{"location": st.Location, "subscriptionId": st.SubscriptionID, "resourceGroupName": st.ResourceGroup,
		"resourceId": st.ResourceID, "name": st.Name, "tags": strings.Join(pairs, ";"), "tagsList": list}
	if st.Kind == "node" {
		compute["name"] = s.cfg.NodeName
		compute["wardNodePool"] = st.Name
	}
	writeJSON(w, http.StatusOK, map[string]any{"compute": compute})
}

// localAddrs answers whether an address is one of this host's own,
// re-reading the interfaces at most every ten seconds.
type localAddrs struct {
	mu     sync.Mutex
	addrs  map[string]bool
	readAt time.Time
}

func (l *localAddrs) contains(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return false
	}
	if ip.IsLoopback() {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.addrs == nil || time.Since(l.readAt) > 10*time.Second || !l.addrs[ip.String()] {
		l.reload()
	}
	return l.addrs[ip.String()]
}

func (l *localAddrs) reload() {
	if time.Since(l.readAt) < time.Second && l.addrs != nil {
		return // a flood of foreign addresses does not re-read per request
	}
	l.addrs, l.readAt = map[string]bool{}, time.Now()
	as, err := net.InterfaceAddrs()
	if err != nil {
		return
	}
	for _, a := range as {
		if n, ok := a.(*net.IPNet); ok {
			l.addrs[n.IP.String()] = true
		}
	}
}
