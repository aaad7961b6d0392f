package podidmigrate

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Input is everything a plan is computed from: what the cluster holds,
// what Ward holds, and the issuer the cluster's tokens carry.
type Input struct {
	// Issuer is the cluster's service-account issuer: the iss claim of
	// its tokens and the issuer of the federated credentials.
	Issuer string
	// NoWebhook says that the cluster has no mutating webhook selecting
	// pods by the workload identity label (false when unknown).
	NoWebhook bool
	// ForceNamespaced is aad-pod-identity's --forceNamespaced: every
	// identity matches pods of its own namespace only.
	ForceNamespaced bool

	Identities      []AzureIdentity
	Bindings        []AzureIdentityBinding
	Exceptions      []AzurePodIdentityException
	Pods            []Pod
	ServiceAccounts []ServiceAccount
	// Ward is the managed identities Ward holds, with their federated
	// credentials.
	Ward []WardIdentity
}

// AzureIdentity is aad-pod-identity's identity object.
type AzureIdentity struct {
	Namespace, Name string
	// Type is 0 (user-assigned managed identity), 1 (service principal
	// with a secret) or 2 (service principal with a certificate); -1 when
	// the object's type is not a number.
	Type       int
	ResourceID string
	ClientID   string
	// Namespaced is the Behavior: namespaced annotation.
	Namespaced bool
	// Invalid says what is wrong with an object that could not be read.
	Invalid string
}

// AzureIdentityBinding ties an AzureIdentity of its namespace to the pods
// labelled aadpodidbinding: Selector.
type AzureIdentityBinding struct {
	Namespace, Name string
	AzureIdentity   string
	Selector        string
}

// AzurePodIdentityException names pods, by label, that aad-pod-identity
// left to the node's IMDS.
type AzurePodIdentityException struct {
	Namespace, Name string
	PodLabels       map[string]string
}

// Pod is what the migration needs of a pod.
type Pod struct {
	Namespace, Name string
	Labels          map[string]string
	// ServiceAccount is spec.serviceAccountName ("" means default).
	ServiceAccount string
	// Owner is the object that owns the pod's template, found through the
	// controller owner references (a Deployment, not its ReplicaSet); nil
	// for a bare pod.
	Owner *Workload
}

// Workload is an object with a pod template.
type Workload struct {
	Kind, Namespace, Name string
	// TemplateLabels are the labels of its pod template.
	TemplateLabels map[string]string
	// Unpatchable, when set, says why the template cannot be changed (a
	// Job's template is immutable; a kind the migration does not know).
	Unpatchable string
}

// Ref is Kind/namespace/name.
func (w Workload) Ref() string { return w.Kind + "/" + w.Namespace + "/" + w.Name }

// ServiceAccount is a service account's annotations.
type ServiceAccount struct {
	Namespace, Name string
	Annotations     map[string]string
}

// WardIdentity is a user-assigned identity in Ward.
type WardIdentity struct {
	ID, Name, ResourceGroup, ClientID string
	Credentials                       []Credential
}

// Credential is a federated credential of a Ward identity.
type Credential struct {
	Name, Issuer, Subject string
	Audiences             []string
}

// The decoders below read aad-pod-identity's objects as the API server
// returns them (unstructured JSON). aad-pod-identity decoded its specs
// with encoding/json, which matches keys case-insensitively, and its
// documentation and the charts in the wild spell them every way
// (resourceID, ResourceID, clientID, ClientId, azureIdentity,
// AzureIdentity, Selector): so do these.

// DecodeIdentity reads an AzureIdentity object.
func DecodeIdentity(obj map[string]any) (AzureIdentity, error) {
	ns, name := meta(obj)
	spec := specOf(obj)
	id := AzureIdentity{Namespace: ns, Name: name, Type: TypeUserAssignedMSI,
		ResourceID: str(field(spec, "resourceID")), ClientID: str(field(spec, "clientID"))}
	if t := field(spec, "type"); t != nil {
		n, err := intOf(t)
		if err != nil {
			id.Type = typeUnknown
			id.Invalid = fmt.Sprintf("spec.type %v is %v", t, err)
			return id, fmt.Errorf("AzureIdentity %s/%s: %s", ns, name, id.Invalid)
		}
		id.Type = n
	}
	anns, _ := field(metaOf(obj), "annotations").(map[string]any)
	for k, v := range anns {
		if strings.EqualFold(k, BehaviorAnnotation) && strings.EqualFold(str(v), behaviorNamespaced) {
			id.Namespaced = true
		}
	}
	return id, nil
}

// DecodeBinding reads an AzureIdentityBinding object.
func DecodeBinding(obj map[string]any) AzureIdentityBinding {
	ns, name := meta(obj)
	spec := specOf(obj)
	return AzureIdentityBinding{Namespace: ns, Name: name, AzureIdentity: str(field(spec, "azureIdentity")), Selector: str(field(spec, "selector"))}
}

// DecodeException reads an AzurePodIdentityException object.
func DecodeException(obj map[string]any) AzurePodIdentityException {
	ns, name := meta(obj)
	labels := map[string]string{}
	if m, ok := field(specOf(obj), "podLabels").(map[string]any); ok {
		for k, v := range m {
			labels[k] = str(v)
		}
	}
	return AzurePodIdentityException{Namespace: ns, Name: name, PodLabels: labels}
}

func metaOf(obj map[string]any) map[string]any {
	m, _ := obj["metadata"].(map[string]any)
	return m
}

func meta(obj map[string]any) (namespace, name string) {
	m := metaOf(obj)
	return str(m["namespace"]), str(m["name"])
}

func specOf(obj map[string]any) map[string]any {
	m, _ := obj["spec"].(map[string]any)
	return m
}

// field is m[key], or the value of the key that equals it ignoring case.
func field(m map[string]any, key string) any {
	if v, ok := m[key]; ok {
		return v
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return nil
}

func str(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}

// intOf reads a JSON number (int64 from the API server's decoder, float64
// from encoding/json) or a string of digits.
func intOf(v any) (int, error) {
	switch v := v.(type) {
	case int64:
		if v < math.MinInt32 || v > math.MaxInt32 {
			return 0, errors.New("out of range")
		}
		return int(v), nil
	case int:
		return v, nil
	case float64:
		if v != math.Trunc(v) || v < math.MinInt32 || v > math.MaxInt32 {
			return 0, errors.New("not a whole number")
		}
		return int(v), nil
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return 0, errors.New("not a number")
		}
		return n, nil
	}
	return 0, errors.New("not a number")
}
