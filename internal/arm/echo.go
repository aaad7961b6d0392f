package arm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/ward-id/ward/internal/armerr"
)

// Echoing what the user declared. A Terraform plan compares every
// property it sent with what the GET answers, so a property Ward does not
// act on (addonProfiles, autoUpgradeProfile, …) must still come back, or
// every plan shows drift and some force a replacement. The rule, for the
// types that store a request's JSON as sent (clusters: ClusterSpec.Echo):
//
//   - the answer Ward computes wins wherever it has a value;
//   - every property the request had and the answer lacks (absent or
//     null) is filled in from the request, at any depth of objects;
//   - an object key the answer spells in another case than the request
//     (resource IDs: ARM compares them in any case) is spelled as sent.
//
// Secrets a request may carry and Azure never answers with are dropped
// before storing (echoSecrets).

// maxEcho bounds the stored request JSON of one resource.
const maxEcho = 64 << 10

// echoSecrets are the properties Azure takes but never returns.
var echoSecrets = [][]string{
	{"properties", "windowsProfile", "adminPassword"},
	{"properties", "servicePrincipalProfile", "secret"},
}

// declared, embedded in a request body's struct, keeps the body as sent
// beside its decoded fields (decodeBody fills it): what Ward does not model
// is stored and echoed. The body is decodeBody's own read of the request,
// shared with nothing else, so it is kept as it is.
type declared struct{ raw json.RawMessage }

func (d *declared) keepDeclared(body []byte) { d.raw = body }

// echoOf is what to store of a request body: its JSON without location
// and tags (stored as fields), the given read-only or separately stored
// paths, and secrets. A body that is not an object stores nothing.
func echoOf(body []byte, drop ...[]string) (json.RawMessage, error) {
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := d.Decode(&m); err != nil || m == nil {
		return nil, nil
	}
	delete(m, "location")
	delete(m, "tags")
	for _, path := range append(append([][]string{}, echoSecrets...), drop...) {
		deletePath(m, path)
	}
	out, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	if len(out) > maxEcho {
		return nil, newError(http.StatusBadRequest, armerr.CodeInvalidRequestContent, fmt.Sprintf("The request's properties are larger than the %d bytes Ward stores for a resource.", maxEcho))
	}
	return out, nil
}

func deletePath(m map[string]any, path []string) {
	for i, k := range path {
		if i == len(path)-1 {
			delete(m, k)
			return
		}
		next, ok := m[k].(map[string]any)
		if !ok {
			return
		}
		m = next
	}
}

// withEcho is answer (any JSON-marshalable object) with the stored echo
// filled in by the rule above.
func withEcho(answer any, echo json.RawMessage) (any, error) {
	if len(echo) == 0 {
		return answer, nil
	}
	b, err := json.Marshal(answer)
	if err != nil {
		return nil, err
	}
	var dst, src map[string]any
	if err := decodeNumbers(b, &dst); err != nil {
		return nil, err
	}
	if err := decodeNumbers(echo, &src); err != nil || src == nil {
		return answer, nil
	}
	fillFrom(dst, src)
	return dst, nil
}

func decodeNumbers(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}

// fillFrom fills dst's gaps from src, and spells dst's keys as src does.
func fillFrom(dst, src map[string]any) {
	for k, sv := range src {
		dk, found := k, false
		if _, ok := dst[k]; ok {
			found = true
		} else {
			for existing := range dst {
				if strings.EqualFold(existing, k) {
					dk, found = existing, true
					break
				}
			}
		}
		if !found {
			dst[k] = sv
			continue
		}
		dv := dst[dk]
		if dk != k {
			delete(dst, dk)
			dst[k] = dv
		}
		if dv == nil {
			dst[k] = sv
			continue
		}
		dm, dok := dv.(map[string]any)
		sm, sok := sv.(map[string]any)
		if dok && sok {
			fillFrom(dm, sm)
		}
	}
}

// withEchoDefaults is withEcho, then defaults where neither Ward's answer
// nor the echo has a value. The defaults are Azure's values of properties
// Ward does not act on (a registry's publicNetworkAccess, an account's
// minimumTlsVersion, …): a declared value answers as declared, an
// undeclared one as Azure would answer it. The answer's own fields are the
// facts Ward computes and always win.
func withEchoDefaults(answer any, echo json.RawMessage, defaults map[string]any) (any, error) {
	v, err := withEcho(answer, echo)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		if err := decodeNumbers(b, &m); err != nil {
			return nil, err
		}
	}
	fillFrom(m, defaults)
	return m, nil
}

// answerWith is a resource's answer: answer (what Ward computes) with what
// the user declared filled in, then defaults (nil: none). answer is Ward's
// own struct, so re-encoding it does not fail in practice; if it did, the
// answer goes out without the echo rather than not at all.
func answerWith(answer any, echo json.RawMessage, defaults map[string]any) any {
	var out any
	var err error
	if defaults == nil {
		out, err = withEcho(answer, echo)
	} else {
		out, err = withEchoDefaults(answer, echo, defaults)
	}
	if err != nil {
		return answer
	}
	return out
}

// echoReplace is a PUT's echo: it replaces what was stored.
func echoReplace(sent json.RawMessage) func(json.RawMessage) json.RawMessage {
	return func(json.RawMessage) json.RawMessage { return sent }
}

// echoMerge is a PATCH's echo: what it sent merged into what is stored as
// a JSON merge patch (RFC 7396) — objects merge key by key at any depth,
// null removes a key, anything else (arrays too) replaces.
func echoMerge(sent json.RawMessage) func(json.RawMessage) json.RawMessage {
	return func(old json.RawMessage) json.RawMessage {
		var o, p map[string]any
		if decodeNumbers(sent, &p) != nil || p == nil {
			return old
		}
		if len(old) == 0 || decodeNumbers(old, &o) != nil || o == nil {
			o = map[string]any{}
		}
		mergeInto(o, p)
		out, err := json.Marshal(o)
		if err != nil {
			return old
		}
		return out
	}
}

func mergeInto(dst, patch map[string]any) {
	for k, pv := range patch {
		if pv == nil {
			delete(dst, k)
			continue
		}
		pm, pok := pv.(map[string]any)
		dm, dok := dst[k].(map[string]any)
		if pok && dok {
			mergeInto(dm, pm)
			continue
		}
		if pok {
			// A new object: drop its nulls, as a merge patch would.
			fresh := map[string]any{}
			mergeInto(fresh, pm)
			dst[k] = fresh
			continue
		}
		dst[k] = pv
	}
}
