package cli

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// serviceAccountSubject is the subject prefix of Kubernetes service-account tokens.
const serviceAccountSubject = "system:serviceaccount:"

// parseServiceAccount reads a service account given as NAME (with
// --namespace NS), as NS/NAME, or as its token subject
// system:serviceaccount:NS:NAME. A namespace in the reference must agree
// with an explicit --namespace. Names Kubernetes would refuse are refused:
// a namespace is a DNS-1123 label, a service account name a DNS-1123
// subdomain.
func parseServiceAccount(ref, namespace string, namespaceSet bool) (ns, name string, err error) {
	if ref == "" {
		return "", "", fmt.Errorf("the following arguments are required: --service-account")
	}
	ns, name = namespace, ref
	if rest, ok := strings.CutPrefix(ref, serviceAccountSubject); ok {
		var found bool
		if ns, name, found = strings.Cut(rest, ":"); !found {
			return "", "", fmt.Errorf("service account %q: a subject is system:serviceaccount:NAMESPACE:NAME", ref)
		}
	} else if n, a, ok := strings.Cut(ref, "/"); ok {
		ns, name = n, a
	}
	if ns != namespace && namespaceSet {
		return "", "", fmt.Errorf("service account %q names namespace %q but --namespace is %q: give one of them", ref, ns, namespace)
	}
	if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
		return "", "", fmt.Errorf("namespace %q is not a valid Kubernetes namespace: %s", ns, strings.Join(errs, "; "))
	}
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return "", "", fmt.Errorf("service account name %q is not valid in Kubernetes: %s (give NAME with --namespace NS, or NS/NAME)", name, strings.Join(errs, "; "))
	}
	return ns, name, nil
}
