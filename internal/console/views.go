package console

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/ward-id/ward/internal/armerr"
	"github.com/ward-id/ward/internal/audience"
	"github.com/ward-id/ward/internal/audit"
	"github.com/ward-id/ward/internal/directory"
	"github.com/ward-id/ward/internal/httpbody"
	"github.com/ward-id/ward/internal/msi"
	"github.com/ward-id/ward/internal/rbac"
	"github.com/ward-id/ward/internal/resourceid"
	"github.com/ward-id/ward/internal/router"
	"github.com/ward-id/ward/internal/shellquote"
	"github.com/ward-id/ward/internal/storage"
)

// ---- explorer ----

type objJSON struct {
	ID    string            `json:"id"`
	Kind  string            `json:"kind"`
	Name  string            `json:"name"`
	Group string            `json:"resourceGroup,omitempty"`
	Props map[string]string `json:"props,omitempty"`
	// Children are an identity's federated credentials.
	Children []objJSON `json:"children,omitempty"`
	// Links name related objects by ID (an identity's cluster, a
	// credential's issuer, an assignment's principal).
	Links []linkRef `json:"links,omitempty"`
	CLI   string    `json:"cli"`
}

type linkRef struct {
	ID    string `json:"id"`
	Label string `json:"label"`
}

// Explorer is one page of what the caller may read, by kind.
type Explorer struct {
	Subscriptions     []objJSON `json:"subscriptions"`
	ResourceGroups    []objJSON `json:"resourceGroups"`
	Identities        []objJSON `json:"identities"`
	Clusters          []objJSON `json:"clusters"`
	ServicePrincipals []objJSON `json:"servicePrincipals"`
	Vaults            []objJSON `json:"vaults"`
	RoleDefinitions   []objJSON `json:"roleDefinitions"`
	RoleAssignments   []objJSON `json:"roleAssignments"`
	// NextLink continues the explorer after this page; empty on the last.
	NextLink string `json:"nextLink,omitempty"`
}

func buildExplorer(v *view) *Explorer {
	e := &Explorer{Subscriptions: []objJSON{}, ResourceGroups: []objJSON{}, Identities: []objJSON{}, Clusters: []objJSON{},
		ServicePrincipals: []objJSON{}, Vaults: []objJSON{}, RoleDefinitions: []objJSON{}, RoleAssignments: []objJSON{}}
	for _, s := range v.subs {
		e.Subscriptions = append(e.Subscriptions, objJSON{ID: resourceid.SubscriptionID(s.ID), Kind: "subscription", Name: s.DisplayName,
			Props: map[string]string{"subscriptionId": s.ID, "state": s.State, "tenantId": s.TenantID}, CLI: shellquote.Join("ward", "account", "show", "--subscription", s.ID)})
	}
	for _, g := range v.groups {
		e.ResourceGroups = append(e.ResourceGroups, objJSON{ID: resourceid.ResourceGroupID(g.SubscriptionID, g.Name), Kind: "resourceGroup", Name: g.Name,
			Props: map[string]string{"location": g.Location}, Links: []linkRef{{ID: resourceid.SubscriptionID(g.SubscriptionID), Label: "subscription"}},
			CLI: shellquote.Join("ward", "group", "show", "-n", g.Name)})
	}
	kubeletOf := map[string]storage.Cluster{}
	for _, c := range v.clusters {
		kubeletOf[strings.ToLower(c.Spec.KubeletIdentity)] = c
	}
	for _, id := range v.identities {
		iid := identityID(id)
		o := objJSON{ID: iid, Kind: KindIdentity, Name: id.Name, Group: id.ResourceGroup,
			Props: map[string]string{"clientId": id.ClientID, "principalId": id.PrincipalID, "location": id.Location},
			Links: []linkRef{{ID: resourceid.ResourceGroupID(id.SubscriptionID, id.ResourceGroup), Label: "resource group"}},
			CLI:   shellquote.Join("ward", "identity", "show", "-g", id.ResourceGroup, "-n", id.Name)}
		if c, ok := kubeletOf[strings.ToLower(iid)]; ok && c.Spec.KubeletBinding.Is(c.Spec.KubeletIdentity, iid, id.PrincipalID) {
			o.Links = append(o.Links, linkRef{ID: clusterID(c), Label: "kubelet identity of"})
		}
		for _, f := range v.fics[strings.ToLower(iid)] {
			o.Children = append(o.Children, objJSON{ID: iid + "/federatedIdentityCredentials/" + f.Name, Kind: KindFIC, Name: f.Name, Group: id.ResourceGroup,
				Props: map[string]string{"issuer": f.Issuer, "subject": f.Subject, "audiences": strings.Join(f.Audiences, ", ")},
				CLI:   shellquote.Join("ward", "identity", "federated-credential", "show", "-g", id.ResourceGroup, "--identity-name", id.Name, "-n", f.Name)})
		}
		e.Identities = append(e.Identities, o)
	}
	for _, c := range v.clusters {
		cid := clusterID(c)
		o := objJSON{ID: cid, Kind: KindCluster, Name: c.Name, Group: c.ResourceGroup,
			Props: map[string]string{"kubernetesVersion": c.Spec.KubernetesVersion, "workloadIdentity": strconv.FormatBool(c.Spec.WorkloadIdentity),
				"nodeResourceGroup": c.Spec.NodeResourceGroup},
			CLI: shellquote.Join("ward", "aks", "show", "-g", c.ResourceGroup, "-n", c.Name)}
		if c.Spec.OIDCIssuer {
			o.Props["issuer"] = v.issuerURL(c.ID)
		}
		if c.Spec.KubeletIdentity != "" {
			o.Links = append(o.Links, linkRef{ID: c.Spec.KubeletIdentity, Label: "kubelet identity"})
		}
		if c.Spec.ControlPlaneIdentity != "" {
			o.Links = append(o.Links, linkRef{ID: c.Spec.ControlPlaneIdentity, Label: "control-plane identity"})
		}
		e.Clusters = append(e.Clusters, o)
	}
	for _, sp := range v.sps {
		e.ServicePrincipals = append(e.ServicePrincipals, objJSON{ID: sp.ObjectID, Kind: KindPrincipal, Name: sp.DisplayName,
			Props: map[string]string{"appId": sp.AppID, "objectId": sp.ObjectID, "created": sp.CreatedAt.UTC().Format(time.RFC3339)},
			CLI:   shellquote.Join("ward", "ad", "sp", "show", "--id", sp.AppID)})
	}
	for _, vl := range v.vaults {
		e.Vaults = append(e.Vaults, objJSON{ID: vaultID(vl), Kind: KindVault, Name: vl.Name, Group: vl.ResourceGroup,
			Props: map[string]string{"location": vl.Location, "sku": vl.SKU}, CLI: shellquote.Join("ward", "keyvault", "show", "-g", vl.ResourceGroup, "-n", vl.Name)})
	}
	if v.canRoles {
		for _, r := range v.roles {
			e.RoleDefinitions = append(e.RoleDefinitions, objJSON{ID: r.ID, Kind: "roleDefinition", Name: r.Name,
				Props: map[string]string{"type": r.Type, "description": r.Description, "assignableScopes": strings.Join(r.AssignableScopes, ", ")},
				CLI:   shellquote.Join("ward", "role", "definition", "list", "--name", r.Name)})
		}
		sortObjs(e.RoleDefinitions)
	}
	for _, a := range v.assignments {
		o := objJSON{ID: a.ID, Kind: KindAssignment, Name: v.roleName(a.RoleDefinitionID),
			Props: map[string]string{"scope": a.Scope, "principalId": a.PrincipalID, "principal": v.principalName(a.PrincipalID), "principalType": a.PrincipalType},
			CLI:   shellquote.Join("ward", "role", "assignment", "list", "--assignee", a.PrincipalID, "--scope", a.Scope)}
		if iid, ok := v.identityByPrincipal[strings.ToLower(a.PrincipalID)]; ok {
			o.Links = append(o.Links, linkRef{ID: iid, Label: "principal"})
		} else {
			o.Links = append(o.Links, linkRef{ID: a.PrincipalID, Label: "principal"})
		}
		e.RoleAssignments = append(e.RoleAssignments, o)
	}
	return e
}

func sortObjs(o []objJSON) {
	for i := 1; i < len(o); i++ {
		for j := i; j > 0 && strings.ToLower(o[j].Name) < strings.ToLower(o[j-1].Name); j-- {
			o[j], o[j-1] = o[j-1], o[j]
		}
	}
}

// ---- activity log ----

type activityJSON struct {
	Time, Caller, CallerObjectID, Method, Action, Scope, Result, CorrelationID string
	Status                                                                     int
}

func parseSince(s string, now time.Time, def time.Duration) (time.Time, error) {
	if s == "" {
		return now.Add(-def), nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Parse(time.RFC3339, s)
}

func (h *Handler) activity(w http.ResponseWriter, r *http.Request) {
	c, ok := h.authenticate(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	since, err := parseSince(q.Get("since"), h.cfg.Now(), 24*time.Hour)
	if err != nil {
		writeErr(w, http.StatusBadRequest, "InvalidSince", "since is a duration (1h, 30m) or an RFC 3339 time.")
		return
	}
	subs, err := h.cfg.Groups.Subscriptions(r.Context())
	if err != nil {
		h.fail(w, err)
		return
	}
	result, caller, text := strings.ToLower(q.Get("result")), strings.ToLower(q.Get("caller")), strings.ToLower(q.Get("q"))
	out := []activityJSON{}
	for _, s := range subs {
		if !h.cfg.Access.Allowed(c.ObjectID, actionActivityRead, resourceid.SubscriptionID(s.ID)) {
			continue
		}
		evs, err := h.cfg.Store.ListActivity(r.Context(), s.ID, since, 500)
		if err != nil {
			h.fail(w, err)
			return
		}
		for _, e := range evs {
			if result != "" && strings.ToLower(e.Result) != result {
				continue
			}
			if caller != "" && !strings.Contains(strings.ToLower(e.CallerAppID+" "+e.CallerObjectID), caller) {
				continue
			}
			if text != "" && !strings.Contains(strings.ToLower(e.Action+" "+e.Scope), text) {
				continue
			}
			out = append(out, activityJSON{Time: e.Time.UTC().Format(time.RFC3339Nano), Caller: e.CallerAppID, CallerObjectID: e.CallerObjectID, Method: e.Method,
				Action: e.Action, Scope: e.Scope, Result: e.Result, CorrelationID: e.CorrelationID, Status: e.StatusCode})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": out})
}

// ---- sign-ins ----

// SignInJSON is one sign-in row with its explanation and, for a refused
// federated exchange, the credential that would have matched.
type SignInJSON struct {
	ID          string `json:"id"`
	Time        string `json:"time"`
	LastSeen    string `json:"lastSeen"`
	Count       int    `json:"count"`
	Result      string `json:"result"`
	ErrorCode   int    `json:"errorCode,omitempty"`
	Message     string `json:"message,omitempty"`
	Explanation string `json:"explanation,omitempty"`
	ClientID    string `json:"clientId"`
	Identity    string `json:"identity,omitempty"`
	Principal   string `json:"principal,omitempty"`
	Credential  string `json:"credential,omitempty"`
	Resource    string `json:"resource,omitempty"`
	Issuer      string `json:"issuer,omitempty"`
	Subject     string `json:"subject,omitempty"`
	// Verified: a trusted issuer's key vouched for Issuer and Subject;
	// otherwise they are only what the caller's assertion claimed.
	Verified bool   `json:"verified"`
	Source   string `json:"source,omitempty"`
	Fix      *Fix   `json:"fix,omitempty"`
}

// Fix is the federated credential that would have matched a refused
// exchange; CanApply says whether the caller may create it.
type Fix struct {
	Identity string   `json:"identity"`
	Name     string   `json:"name"`
	Issuer   string   `json:"issuer"`
	Subject  string   `json:"subject"`
	Audience []string `json:"audiences"`
	CanApply bool     `json:"canApply"`
	CLI      string   `json:"cli"`
}

// The AADSTS codes of a federated exchange that no credential matched.
var fixableCodes = map[int]bool{70021: true, 700211: true, 700212: true, 700213: true}

var audienceRE = regexp.MustCompile(`[Aa]ssertion [Aa]udience:? '([^']*)'|assertion audience '([^']*)'`)

const defaultAudience = audience.TokenExchange

func (h *Handler) signInRow(ctx context.Context, who Who, s storage.SignIn) SignInJSON {
	j := SignInJSON{ID: s.ID, Time: s.Time.UTC().Format(time.RFC3339Nano), LastSeen: s.LastSeen.UTC().Format(time.RFC3339Nano), Count: max(s.Count, 1),
		Result: s.Result, ErrorCode: s.ErrorCode, ClientID: s.ClientID, Identity: s.IdentityID, Principal: s.PrincipalID, Credential: s.Credential,
		Resource: s.Resource, Issuer: s.Issuer, Subject: s.Subject, Verified: s.Verified, Source: s.Source}
	if s.LastSeen.IsZero() {
		j.LastSeen = j.Time
	}
	j.Message = s.Reason
	if i := strings.Index(s.Reason, " Ward: "); i >= 0 {
		j.Message, j.Explanation = s.Reason[:i], strings.TrimSpace(s.Reason[i+1:])
	}
	// A fix makes the identity trust the record's issuer and subject, so it
	// is offered only when a trusted issuer's key vouched for them: anyone
	// who knows a client ID can have any claims recorded, unsigned.
	if s.Result != "success" && s.Verified && fixableCodes[s.ErrorCode] && s.IdentityID != "" && s.Issuer != "" && s.Subject != "" {
		aud := defaultAudience
		if m := audienceRE.FindStringSubmatch(s.Reason); m != nil {
			if a := m[1] + m[2]; a != "" && !strings.Contains(a, ",") {
				aud = a
			}
		}
		id, err := resourceid.Parse(s.IdentityID)
		if err == nil && len(id.Types) == 1 {
			name := ficName(s.Subject)
			j.Fix = &Fix{Identity: s.IdentityID, Name: name, Issuer: s.Issuer, Subject: s.Subject, Audience: []string{aud},
				CanApply: h.cfg.Access.Allowed(who.ObjectID, actionFICWrite, s.IdentityID+"/federatedIdentityCredentials/"+name),
				CLI: shellquote.Join("ward", "identity", "federated-credential", "create", "-g", id.ResourceGroup, "--identity-name", id.Types[0].Name, "-n", name,
					"--issuer", s.Issuer, "--subject", s.Subject, "--audiences", aud)}
		}
	}
	return j
}

var ficNameUnsafe = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// ficName derives a credential name from a subject: "system:serviceaccount:ns:sa" → "ns-sa".
func ficName(subject string) string {
	s := strings.TrimPrefix(subject, "system:serviceaccount:")
	s = strings.Trim(ficNameUnsafe.ReplaceAllString(s, "-"), "-_")
	if len(s) > 100 {
		s = s[:100]
	}
	if len(s) < 3 {
		s = "fic-" + s + "x"
	}
	return "console-" + s
}

type signInFilter struct {
	result, identity, issuer string
	code                     int
}

func (f signInFilter) keep(s storage.SignIn) bool {
	if f.result != "" && !strings.EqualFold(s.Result, f.result) {
		return false
	}
	if f.code != 0 && s.ErrorCode != f.code {
		return false
	}
	if f.identity != "" && !strings.Contains(strings.ToLower(s.ClientID+" "+s.IdentityID+" "+s.PrincipalID), f.identity) {
		return false
	}
	if f.issuer != "" && !strings.Contains(strings.ToLower(s.Issuer), f.issuer) {
		return false
	}
	return true
}

func (h *Handler) signInQuery(w http.ResponseWriter, r *http.Request) (caller, signInFilter, time.Time, bool) {
	c, ok := h.authenticate(w, r)
	if !ok {
		return c, signInFilter{}, time.Time{}, false
	}
	q := r.URL.Query()
	f := signInFilter{result: q.Get("result"), identity: strings.ToLower(q.Get("identity")), issuer: strings.ToLower(q.Get("issuer"))}
	if code := strings.TrimPrefix(strings.ToUpper(q.Get("code")), "AADSTS"); code != "" {
		n, err := strconv.Atoi(code)
		if err != nil {
			writeErr(w, http.StatusBadRequest, "InvalidCode", "code is an AADSTS number, e.g. 700213 or AADSTS700213.")
			return c, f, time.Time{}, false
		}
		f.code = n
	}
	since, err := parseSince(q.Get("since"), h.cfg.Now(), 24*time.Hour)
	if err != nil {
		writeErr(w, http.StatusBadRequest, "InvalidSince", "since is a duration (1h, 30m) or an RFC 3339 time.")
		return c, f, time.Time{}, false
	}
	return c, f, since, true
}

func (h *Handler) signIns(w http.ResponseWriter, r *http.Request) {
	c, f, since, ok := h.signInQuery(w, r)
	if !ok {
		return
	}
	items, err := h.cfg.Store.ListSignIns(r.Context(), since, 500)
	if err != nil {
		h.fail(w, err)
		return
	}
	out := []SignInJSON{}
	for _, s := range items {
		if f.keep(s) {
			out = append(out, h.signInRow(r.Context(), c.Who, s))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": out})
}

// streamRecheck is how often the sign-in stream checks that its caller
// may still read it.
const streamRecheck = 2 * time.Second

// signInStream sends new and updated sign-in records as server-sent
// events ("signin"), polling the store; it ends after maxSeconds (default
// 300: EventSource reconnects by itself).
func (h *Handler) signInStream(w http.ResponseWriter, r *http.Request) {
	c, f, _, ok := h.signInQuery(w, r)
	if !ok {
		return
	}
	life := 300 * time.Second
	if s := r.URL.Query().Get("maxSeconds"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 3600 {
			writeErr(w, http.StatusBadRequest, "InvalidMaxSeconds", "maxSeconds is a whole number from 1 to 3600.")
			return
		}
		life = time.Duration(n) * time.Second
	}
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("retry: 2000\n\n"))
	_ = rc.Flush()
	ctx, cancel := context.WithTimeout(r.Context(), life)
	defer cancel()
	seen := map[string]string{} // id → lastSeen|count
	since := h.cfg.Now().Add(-time.Second)
	tick := time.NewTicker(400 * time.Millisecond)
	defer tick.Stop()
	var checked time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		// The stream outlives the request that authorized it: it stops
		// when the session or token ends, is revoked, or loses the right
		// to read the log (checked every streamRecheck).
		if now := h.cfg.Now(); now.Sub(checked) >= streamRecheck || !now.Before(c.until) {
			if !h.stillSignedIn(ctx, c) || !h.cfg.Access.Allowed(c.ObjectID, directory.ActionAuditLogsRead, "/") {
				return
			}
			checked = now
		}
		items, err := h.cfg.Store.ListSignIns(ctx, since.Add(-2*time.Minute), 200)
		if err != nil {
			return
		}
		for i := len(items) - 1; i >= 0; i-- {
			s := items[i]
			mark := s.LastSeen.String() + "|" + strconv.Itoa(s.Count)
			if seen[s.ID] == mark || s.LastSeen.Before(since) && s.Time.Before(since) {
				continue
			}
			seen[s.ID] = mark
			if !f.keep(s) {
				continue
			}
			b, _ := json.Marshal(h.signInRow(ctx, c.Who, s))
			if _, err := fmt.Fprintf(w, "event: signin\ndata: %s\n\n", b); err != nil {
				return
			}
		}
		if len(seen) > 5000 {
			seen = map[string]string{}
			since = h.cfg.Now().Add(-time.Second)
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

// ---- fix: create the federated credential that would have matched ----

type fixRequest struct {
	Identity  string   `json:"identity"`
	Name      string   `json:"name"`
	Issuer    string   `json:"issuer"`
	Subject   string   `json:"subject"`
	Audiences []string `json:"audiences"`
}

func (h *Handler) fixFederatedCredential(w http.ResponseWriter, r *http.Request) {
	c, ok := h.authenticate(w, r)
	if !ok {
		return
	}
	var req fixRequest
	if err := httpbody.JSON(r.Body, 0, &req); err != nil {
		if httpbody.Is(err, httpbody.TooLarge) {
			writeErr(w, http.StatusRequestEntityTooLarge, "RequestContentTooLarge", fmt.Sprintf("The body is larger than %d KiB.", maxBody>>10))
			return
		}
		writeErr(w, http.StatusBadRequest, "InvalidRequestContent", "The body must be JSON: {identity, name, issuer, subject, audiences}.")
		return
	}
	id, err := resourceid.Parse(req.Identity)
	if err != nil || len(id.Types) != 1 || !id.TypeMatches(resourceid.TypeIdentity) {
		writeErr(w, http.StatusBadRequest, "InvalidIdentity", "identity must be a user-assigned identity resource ID.")
		return
	}
	if len(req.Audiences) == 0 {
		req.Audiences = []string{defaultAudience}
	}
	scope := resourceid.FederatedCredentialID(id.Subscription, id.ResourceGroup, id.Types[0].Name, req.Name)
	status := http.StatusCreated
	defer func() {
		// The same record a PUT of the credential through ARM leaves.
		audit.Activity{Store: h.cfg.Store, Logger: h.cfg.Logger, Now: h.cfg.Now}.Record(r.Context(), storage.ActivityEvent{
			SubscriptionID: id.Subscription, CallerAppID: c.AppID, CallerObjectID: c.ObjectID,
			Method: http.MethodPut, Action: actionFICWrite, Scope: scope, StatusCode: status, CorrelationID: "console-" + uuid.NewString()})
	}()
	if !h.cfg.Access.Allowed(c.ObjectID, actionFICWrite, scope) {
		// ARM's 403, as the same PUT through ARM answers it.
		e := armerr.NotAuthorized(c.AppID, c.ObjectID, actionFICWrite, scope, router.ErrNotGranted)
		status = e.Status
		writeErr(w, status, e.Code, e.Message)
		return
	}
	fic, created, err := h.cfg.Identities.PutFederatedCredential(r.Context(), storage.IdentityRef{SubscriptionID: id.Subscription, ResourceGroup: id.ResourceGroup, Name: id.Types[0].Name},
		req.Name, msi.FederatedCredentialSpec{Issuer: req.Issuer, Subject: req.Subject, Audiences: req.Audiences})
	me, isARM := armerr.As(err)
	switch {
	case isARM:
		status = me.Status
		writeErr(w, status, me.Code, me.Message)
		return
	case err != nil:
		status = http.StatusInternalServerError
		h.fail(w, err)
		return
	}
	if !created {
		status = http.StatusOK
	}
	writeJSON(w, status, map[string]any{"id": scope, "name": fic.Name, "issuer": fic.Issuer, "subject": fic.Subject, "audiences": fic.Audiences})
}

// ---- can X do Y? ----

// CheckResult answers "can principal do action at scope?".
type CheckResult struct {
	Principal     string         `json:"principal"`
	PrincipalName string         `json:"principalName,omitempty"`
	Action        string         `json:"action"`
	Scope         string         `json:"scope"`
	DataAction    bool           `json:"dataAction"`
	Allowed       bool           `json:"allowed"`
	GrantedBy     string         `json:"grantedBy,omitempty"` // assignment ID
	Summary       string         `json:"summary"`
	Assignments   []CheckAssignJ `json:"assignments"`
}

// CheckAssignJ is one of the principal's assignments and what it does for
// the question.
type CheckAssignJ struct {
	ID      string `json:"id"`
	Role    string `json:"role"`
	Scope   string `json:"scope"`
	Applies bool   `json:"applies"`
	Grants  bool   `json:"grants"`
	Why     string `json:"why"`
}

func (h *Handler) check(w http.ResponseWriter, r *http.Request) {
	c, ok := h.authenticate(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	principal, action, scope := strings.TrimSpace(q.Get("principal")), strings.TrimSpace(q.Get("action")), strings.TrimSpace(q.Get("scope"))
	if principal == "" {
		principal = c.ObjectID
	}
	if action == "" || scope == "" || len(action) > 300 || len(scope) > 2000 || len(principal) > 200 {
		writeErr(w, http.StatusBadRequest, "InvalidQuery", "Give principal (object ID, client ID or identity resource ID; default: you), scope and action.")
		return
	}
	if _, err := resourceid.Parse(scope); err != nil {
		writeErr(w, http.StatusBadRequest, "InvalidScope", fmt.Sprintf("The scope '%s' is not a valid Azure scope: %v.", scope, err))
		return
	}
	ctx := r.Context()
	// A client ID or identity resource ID is resolved, and a name shown,
	// only for a principal the caller may read (through the directory API
	// or ARM); any other value is taken as an object ID, so an unreadable
	// principal and an unknown one get the same answer.
	principal, name := h.resolvePrincipal(ctx, c.Who, principal)
	// As checkAccess: one's own access freely, another's with
	// roleAssignments/read at the scope.
	if !strings.EqualFold(principal, c.ObjectID) && !h.cfg.Access.Allowed(c.ObjectID, actionAssignmentRead, scope) {
		writeErr(w, http.StatusForbidden, "AuthorizationFailed", fmt.Sprintf("Checking another principal's access needs '%s' at '%s', which the principal '%s' does not hold.", actionAssignmentRead, scope, c.ObjectID))
		return
	}
	data := q.Get("data") == "true" || isDataAction(action)
	d := h.cfg.Access.Decide(principal, action, scope, data)
	res := CheckResult{Principal: principal, PrincipalName: name, Action: action, Scope: scope, DataAction: data, Allowed: d.Allowed, GrantedBy: d.AssignmentID(), Assignments: []CheckAssignJ{}}
	all, err := h.cfg.Access.AssignmentsOf(ctx, principal)
	if err != nil {
		h.fail(w, err)
		return
	}
	// Only the assignments the caller could read through ARM: those at a
	// scope where it holds roleAssignments/read, and those that apply at
	// the scope asked about when it holds that right there (ARM lists an
	// assignment inherited from above with the scope's own).
	readsAtScope := h.cfg.Access.Allowed(c.ObjectID, actionAssignmentRead, scope)
	var held []storage.RoleAssignment
	for _, a := range all {
		if h.cfg.Access.Allowed(c.ObjectID, actionAssignmentRead, a.Scope) || readsAtScope && rbac.Covers(a.Scope, scope) {
			held = append(held, a)
		}
	}
	var reasons []string
	for _, a := range held {
		role, err := h.cfg.Access.Role(ctx, a.RoleDefinitionID)
		if err != nil {
			continue
		}
		j := explainAssignment(a, role, action, scope, data, res.GrantedBy)
		if !j.Grants {
			reasons = append(reasons, j.Role+": "+j.Why)
		}
		res.Assignments = append(res.Assignments, j)
	}
	switch {
	case res.Allowed:
		for _, a := range res.Assignments {
			if strings.EqualFold(a.ID, res.GrantedBy) {
				res.Summary = fmt.Sprintf("Allowed: role '%s' assigned at '%s' grants '%s'.", a.Role, a.Scope, action)
			}
		}
		if res.Summary == "" {
			res.Summary = "Allowed by assignment " + res.GrantedBy + "."
		}
	case len(reasons) == 0:
		res.Summary = "Denied: no role assignment grants it."
	default:
		res.Summary = "Denied: no assignment grants it. " + strings.Join(reasons, "; ") + "."
	}
	writeJSON(w, http.StatusOK, res)
}

// explainAssignment says what assignment a (of role) does for "may its
// principal perform action (a data action when data) at scope?"; grantedBy
// is the assignment the engine decided by.
func explainAssignment(a storage.RoleAssignment, role rbac.RoleDefinition, action, scope string, data bool, grantedBy string) CheckAssignJ {
	j := CheckAssignJ{ID: a.ID, Role: role.Name, Scope: a.Scope, Applies: rbac.Covers(a.Scope, scope)}
	ex := rbac.Explain(role, action, data)
	j.Grants = j.Applies && ex.Granted
	plane := "actions"
	if data {
		plane = "dataActions"
	}
	switch {
	case !j.Applies:
		j.Why = fmt.Sprintf("assigned at '%s', which is not '%s' or above it (a sibling or narrower scope)", a.Scope, scope)
	case ex.Granted:
		j.Why = fmt.Sprintf("'%s' in %s grants it", ex.MatchedBy, plane)
		if strings.EqualFold(a.ID, grantedBy) {
			j.Why += "; this is the assignment the engine used"
		}
	case ex.DeniedBy != "":
		j.Why = fmt.Sprintf("'%s' matches, but not%s '%s' removes it", ex.MatchedBy, strings.ToUpper(plane[:1])+plane[1:], ex.DeniedBy)
	case ex.OtherPlane && data:
		j.Why = "the role grants this as a control-plane action, not a data action: a data action needs dataActions"
	case ex.OtherPlane:
		j.Why = "the role grants this as a data action (dataActions), not a management action"
	default:
		j.Why = fmt.Sprintf("no pattern in the role's %s matches '%s'", plane, action)
	}
	return j
}

// resolvePrincipal turns what the caller typed (object ID, client ID or
// identity resource ID) into an object ID, with the principal's name when
// the caller may read the principal: a service principal as the directory
// API decides (directory.Policy.Read), a managed identity as ARM does (its
// read action at its resource ID). A client ID or resource ID of a
// principal the caller may not read is left as typed, as an unknown one is.
func (h *Handler) resolvePrincipal(ctx context.Context, who Who, typed string) (objectID, name string) {
	caller := directory.Caller{ObjectID: who.ObjectID, AppID: who.AppID}
	readSP := func(sp storage.ServicePrincipal) bool {
		return h.policy.Read(caller, directory.ServicePrincipal{ServicePrincipal: sp}) == nil
	}
	readMI := func(mi storage.Identity) bool {
		return h.cfg.Access.Allowed(who.ObjectID, actionIdentityRead, identityID(mi))
	}
	if sp, err := h.cfg.Store.GetServicePrincipalByAppID(ctx, typed); err == nil {
		if readSP(sp) {
			return sp.ObjectID, sp.DisplayName
		}
		return typed, ""
	}
	if mi, err := h.cfg.Store.GetIdentityByClientID(ctx, typed); err == nil {
		if readMI(mi) {
			return mi.PrincipalID, mi.Name
		}
		return typed, ""
	}
	if pid, err := resourceid.Parse(typed); err == nil && len(pid.Types) == 1 && strings.HasPrefix(typed, "/") {
		if mi, err := h.cfg.Store.GetIdentity(ctx, storage.IdentityRef{SubscriptionID: pid.Subscription, ResourceGroup: pid.ResourceGroup, Name: pid.Types[0].Name}); err == nil && readMI(mi) {
			return mi.PrincipalID, mi.Name
		}
		return typed, ""
	}
	if sp, err := h.cfg.Store.GetServicePrincipal(ctx, typed); err == nil {
		if readSP(sp) {
			return sp.ObjectID, sp.DisplayName
		}
	} else if mi, err := h.cfg.Store.GetIdentityByPrincipalID(ctx, typed); err == nil && readMI(mi) {
		return mi.PrincipalID, mi.Name
	}
	return typed, ""
}

// isDataAction tells data actions (Key Vault secrets and the like) from
// management actions by name, as role definitions separate them.
func isDataAction(a string) bool {
	l := strings.ToLower(a)
	return strings.Contains(l, "/vaults/secrets/") && !strings.HasSuffix(l, "/secrets/read") && !strings.HasSuffix(l, "/secrets/write") ||
		strings.Contains(l, "/secrets/getsecret/") || strings.Contains(l, "/secrets/setsecret/")
}
