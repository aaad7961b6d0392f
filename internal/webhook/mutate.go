package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"

	sigsjson "sigs.k8s.io/json"
)

// MissingClientID says what to do with a selected pod for which neither the
// pod nor its service account names a client ID.
type MissingClientID string

const (
	// DenyMissingClientID refuses the pod, so the mistake shows at deploy
	// time instead of as a crash loop. The default.
	DenyMissingClientID MissingClientID = "deny"
	// WarnMissingClientID admits the pod with an admission warning (kubectl
	// prints it), without AZURE_CLIENT_ID — the open-source webhook's
	// behaviour, plus the warning.
	WarnMissingClientID MissingClientID = "warn"
)

// Config is what the mutation needs besides the pod and its service account.
type Config struct {
	// TenantID is injected as AZURE_TENANT_ID when the service account has no
	// tenant-id annotation.
	TenantID string
	// AuthorityHost is Ward's public URL; a trailing "/" is added if missing,
	// as the Azure SDKs expect.
	AuthorityHost string
	// Audience of the projected token; DefaultAudience when empty.
	Audience string
	// MissingClientID defaults to DenyMissingClientID.
	MissingClientID MissingClientID
	// CAConfigMap names a ConfigMap (key ca.crt) in the pod's namespace that
	// holds Ward's CA; pods annotated inject-ca get it in the token volume.
	// Empty: such pods are refused.
	CAConfigMap string
}

// ServiceAccount is what the webhook reads of a Kubernetes service account.
type ServiceAccount struct {
	Annotations map[string]string
}

// ServiceAccounts looks service accounts up; it returns
// ErrServiceAccountNotFound when there is none.
type ServiceAccounts interface {
	ServiceAccount(ctx context.Context, namespace, name string) (*ServiceAccount, error)
}

// ErrServiceAccountNotFound is returned by ServiceAccounts for a missing one.
var ErrServiceAccountNotFound = errors.New("service account not found")

// Denial is a refusal with a message for the person creating the pod.
type Denial struct{ Message string }

func (d *Denial) Error() string { return d.Message }

func deny(format string, args ...any) error { return &Denial{Message: fmt.Sprintf(format, args...)} }

// Op is one JSON patch (RFC 6902) operation.
type Op struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value"`
}

// Result of a mutation: the patch (empty when the pod needs nothing) and
// warnings for the client.
type Result struct {
	Patch    []Op
	Warnings []string
}

// Mutator computes the workload identity patch for a pod.
type Mutator struct {
	cfg Config
	sas ServiceAccounts
}

// NewMutator returns a Mutator; sas must not be nil.
func NewMutator(cfg Config, sas ServiceAccounts) *Mutator {
	if cfg.Audience == "" {
		cfg.Audience = DefaultAudience
	}
	if cfg.AuthorityHost != "" && !strings.HasSuffix(cfg.AuthorityHost, "/") {
		cfg.AuthorityHost += "/"
	}
	if cfg.MissingClientID == "" {
		cfg.MissingClientID = DenyMissingClientID
	}
	return &Mutator{cfg: cfg, sas: sas}
}

// The parts of a pod the mutation reads. The pod is never re-encoded from
// these: the patch only adds or replaces at paths, so every field not named
// here — and every field this code has never heard of — stays as it was.
type podView struct {
	Metadata *struct {
		Name         string            `json:"name"`
		GenerateName string            `json:"generateName"`
		Labels       map[string]string `json:"labels"`
		Annotations  map[string]string `json:"annotations"`
	} `json:"metadata"`
	Spec *struct {
		ServiceAccountName string           `json:"serviceAccountName"`
		Containers         []*containerView `json:"containers"`
		InitContainers     []*containerView `json:"initContainers"`
		Volumes            []volumeView     `json:"volumes"`
	} `json:"spec"`
}

type containerView struct {
	Name         string      `json:"name"`
	Env          []envView   `json:"env"`
	VolumeMounts []mountView `json:"volumeMounts"`
}

type envView struct {
	Name  string  `json:"name"`
	Value *string `json:"value"`
}

type mountView struct {
	Name      string `json:"name"`
	MountPath string `json:"mountPath"`
}

type volumeView struct {
	Name      string `json:"name"`
	Projected *struct {
		Sources []struct {
			ServiceAccountToken *tokenProjection `json:"serviceAccountToken"`
			ConfigMap           *struct {
				Name string `json:"name"`
			} `json:"configMap"`
		} `json:"sources"`
	} `json:"projected"`
}

type tokenProjection struct {
	Audience          string `json:"audience"`
	ExpirationSeconds int64  `json:"expirationSeconds"`
	Path              string `json:"path"`
}

// Selected reports whether the pod asks for workload identity: the label
// (what the webhook configuration selects on) or, for charts that cannot
// label pods, the same key as an annotation, parsed as a boolean.
func selected(p *podView) bool {
	if v, ok := p.Metadata.Labels[LabelUse]; ok {
		b, err := strconv.ParseBool(v)
		return err == nil && b
	}
	b, err := strconv.ParseBool(p.Metadata.Annotations[LabelUse])
	return err == nil && b
}

type envVar struct{ name, value string }

// Mutate returns the patch for a pod being created in namespace. A *Denial
// error means the pod must be refused with its message; other errors are
// failures to look the service account up.
func (m *Mutator) Mutate(ctx context.Context, namespace string, raw []byte) (Result, error) {
	// Case-sensitive, as the API server decodes: a key spelled "Spec" is
	// not the spec, and the patch's paths must name what was read.
	var p podView
	if err := sigsjson.UnmarshalCaseSensitivePreserveInts(raw, &p); err != nil {
		return Result{}, deny(msgUndecodable, err)
	}
	if p.Metadata == nil || p.Spec == nil {
		return Result{}, deny(msgUndecodable, "no metadata or spec")
	}
	if !selected(&p) {
		return Result{}, nil
	}
	saName := p.Spec.ServiceAccountName
	if saName == "" {
		saName = DefaultServiceAccount
	}
	sa, err := m.sas.ServiceAccount(ctx, namespace, saName)
	if errors.Is(err, ErrServiceAccountNotFound) {
		return Result{}, deny(msgSANotFound, saName, saName, namespace)
	} else if err != nil {
		return Result{}, fmt.Errorf("look up service account %s/%s: %w", namespace, saName, err)
	}

	var res Result
	podAnn := p.Metadata.Annotations
	clientID := podAnn[AnnotationClientID]
	if clientID == "" {
		clientID = sa.Annotations[AnnotationClientID]
	}
	if clientID == "" {
		msg := fmt.Sprintf(msgNoClientID, saName, namespace)
		if m.cfg.MissingClientID != WarnMissingClientID {
			return Result{}, &Denial{Message: msg}
		}
		res.Warnings = append(res.Warnings, msg)
	}
	tenantID, ok := sa.Annotations[AnnotationTenantID]
	if !ok {
		tenantID = m.cfg.TenantID
	}
	expiration, err := tokenExpiration(podAnn, sa.Annotations)
	if err != nil {
		return Result{}, err
	}
	injectCA, err := boolAnnotation(podAnn, AnnotationInjectCA)
	if err != nil {
		return Result{}, err
	}
	if injectCA && m.cfg.CAConfigMap == "" {
		return Result{}, deny(msgNoCAConfigMap)
	}

	desired := []envVar{
		{EnvClientID, clientID},
		{EnvTenantID, tenantID},
		{EnvTokenFile, TokenFile},
		{EnvAuthorityHost, m.cfg.AuthorityHost},
	}
	if injectCA {
		desired = append(desired, envVar{EnvSSLCertFile, CAFile})
	}
	var recorded map[string]string
	_ = json.Unmarshal([]byte(podAnn[AnnotationInjected]), &recorded) // unreadable: nothing is known to be Ward's
	written := map[string]bool{}
	if err := containerOps(&res, p.Spec.Containers, p.Spec.InitContainers, SkipContainers(podAnn[AnnotationSkipContainers]), desired, recorded, written); err != nil {
		return Result{}, err
	}

	volOp, err := m.volumeOp(p.Spec.Volumes, expiration, injectCA)
	if err != nil {
		return Result{}, err
	}
	if volOp != nil {
		res.Patch = append(res.Patch, *volOp)
	}

	if op := recordOp(podAnn, desired, recorded, written); op != nil {
		res.Patch = append(res.Patch, *op)
	}
	return res, nil
}

// containerOps appends to res the environment and mount operations of
// every container and init container not in skip.
func containerOps(res *Result, containers, initContainers []*containerView, skip map[string]bool, desired []envVar, recorded map[string]string, written map[string]bool) error {
	for _, list := range []struct {
		field      string
		containers []*containerView
	}{{"containers", containers}, {"initContainers", initContainers}} {
		for i, c := range list.containers {
			if c == nil {
				return deny(msgUndecodable, "null container")
			}
			if skip[c.Name] {
				continue
			}
			base := fmt.Sprintf("/spec/%s/%d", list.field, i)
			res.Patch = append(res.Patch, envOps(base, c.Env, desired, recorded, written)...)
			op, warning := mountOp(base, *c)
			if op != nil {
				res.Patch = append(res.Patch, *op)
			}
			if warning != "" {
				res.Warnings = append(res.Warnings, warning)
			}
		}
	}
	return nil
}

// recordOp is the operation that updates the record of what Ward owns
// (values written now, and recorded values that are still current), or nil
// when the pod's annotation already says it.
func recordOp(podAnn map[string]string, desired []envVar, recorded map[string]string, written map[string]bool) *Op {
	record := map[string]string{}
	for _, d := range desired {
		if d.value != "" && (written[d.name] || recorded[d.name] == d.value) {
			record[d.name] = d.value
		}
	}
	if len(record) == 0 {
		return nil
	}
	b, _ := json.Marshal(record)
	if string(b) == podAnn[AnnotationInjected] {
		return nil
	}
	if podAnn == nil {
		return &Op{"add", "/metadata/annotations", map[string]string{AnnotationInjected: string(b)}}
	}
	return &Op{"add", "/metadata/annotations/" + escape(AnnotationInjected), string(b)}
}

// envOps appends the variables a container lacks and refreshes those whose
// value is still the one Ward recorded injecting. A user's own value (or a
// valueFrom) is never touched, and empty values are never injected.
func envOps(base string, env []envView, desired []envVar, recorded map[string]string, written map[string]bool) []Op {
	var ops []Op
	var add []map[string]string
	for _, d := range desired {
		if d.value == "" {
			continue
		}
		idx := -1
		for j, e := range env {
			if e.Name == d.name {
				idx = j
				break
			}
		}
		switch {
		case idx < 0:
			add = append(add, map[string]string{"name": d.name, "value": d.value})
			written[d.name] = true
		case env[idx].Value != nil && *env[idx].Value != d.value && recorded[d.name] != "" && *env[idx].Value == recorded[d.name]:
			ops = append(ops, Op{"replace", fmt.Sprintf("%s/env/%d/value", base, idx), d.value})
			written[d.name] = true
		}
	}
	if len(add) == 0 {
		return ops
	}
	if len(env) == 0 {
		return append(ops, Op{"add", base + "/env", add})
	}
	for _, v := range add {
		ops = append(ops, Op{"add", base + "/env/-", v})
	}
	return ops
}

// mountOp mounts the token volume read-only unless the container already
// mounts it, or already has something else at the token directory (a
// user's own token, say): a second mount at one path would be refused by
// the API server, so Ward leaves it and says so.
func mountOp(base string, c containerView) (*Op, string) {
	for _, vm := range c.VolumeMounts {
		if vm.Name == VolumeName {
			return nil, ""
		}
	}
	for _, vm := range c.VolumeMounts {
		if path.Clean(vm.MountPath) == TokenMountDir {
			return nil, fmt.Sprintf(msgMountPathTaken, c.Name, vm.Name, TokenMountDir, TokenFile)
		}
	}
	mount := map[string]any{"name": VolumeName, "mountPath": TokenMountDir, "readOnly": true}
	if len(c.VolumeMounts) == 0 {
		return &Op{"add", base + "/volumeMounts", []any{mount}}, ""
	}
	return &Op{"add", base + "/volumeMounts/-", mount}, ""
}

// volumeOp adds the projected token volume, or replaces Ward's volume from
// an earlier pass when its audience, lifetime or CA source changed.
func (m *Mutator) volumeOp(volumes []volumeView, expiration int64, injectCA bool) (*Op, error) {
	sources := []any{map[string]any{"serviceAccountToken": map[string]any{
		"audience": m.cfg.Audience, "expirationSeconds": expiration, "path": TokenPath}}}
	if injectCA {
		sources = append(sources, map[string]any{"configMap": map[string]any{
			"name": m.cfg.CAConfigMap, "items": []any{map[string]any{"key": CAPath, "path": CAPath}}}})
	}
	want := map[string]any{"name": VolumeName, "projected": map[string]any{"sources": sources}}
	for i, v := range volumes {
		if v.Name != VolumeName {
			continue
		}
		if v.Projected == nil || len(v.Projected.Sources) == 0 || v.Projected.Sources[0].ServiceAccountToken == nil {
			return nil, deny(msgVolumeNameTaken, VolumeName)
		}
		if m.volumeCurrent(v, expiration, injectCA) {
			return nil, nil
		}
		return &Op{"replace", fmt.Sprintf("/spec/volumes/%d", i), want}, nil
	}
	if len(volumes) == 0 {
		return &Op{"add", "/spec/volumes", []any{want}}, nil
	}
	return &Op{"add", "/spec/volumes/-", want}, nil
}

func (m *Mutator) volumeCurrent(v volumeView, expiration int64, injectCA bool) bool {
	src := v.Projected.Sources
	t := src[0].ServiceAccountToken
	if t.Audience != m.cfg.Audience || t.ExpirationSeconds != expiration || t.Path != TokenPath {
		return false
	}
	if !injectCA {
		return len(src) == 1
	}
	return len(src) == 2 && src[1].ConfigMap != nil && src[1].ConfigMap.Name == m.cfg.CAConfigMap
}

// tokenExpiration: the pod's annotation, else the service account's, else
// the default; a whole number of seconds within the bounds.
func tokenExpiration(pod, sa map[string]string) (int64, error) {
	v, where := pod[AnnotationTokenExpiration], "pod"
	if v == "" {
		v, where = sa[AnnotationTokenExpiration], "service account"
	}
	if v == "" {
		return DefaultExpiration, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, deny(msgBadExpiration, AnnotationTokenExpiration, where, v, err)
	}
	if n < MinExpiration || n > MaxExpiration {
		return 0, deny(msgExpirationRange, AnnotationTokenExpiration, where, n)
	}
	return n, nil
}

func boolAnnotation(ann map[string]string, key string) (bool, error) {
	v, ok := ann[key]
	if !ok || v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, deny(msgBadBool, key, v)
	}
	return b, nil
}

// SkipContainers parses the skip-containers annotation: ';'-separated,
// space-trimmed container names.
func SkipContainers(v string) map[string]bool {
	if v == "" {
		return nil
	}
	out := map[string]bool{}
	for name := range strings.SplitSeq(v, ";") {
		if name = strings.TrimSpace(name); name != "" {
			out[name] = true
		}
	}
	return out
}

// escape encodes a key as a JSON pointer token (RFC 6901).
func escape(s string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}
