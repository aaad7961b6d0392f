package cli

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ward-id/ward/internal/kubeapi/kubeapitest"
	"github.com/ward-id/ward/internal/shellquote"
	"github.com/ward-id/ward/internal/shellquote/shellquotetest"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
)

// TestHintsQuoteHostileValues plants hostile values in what the CLI's
// install text, join instructions and login hints put into commands, and
// runs each command under sh -c: each value reaches the program as one
// argument, byte for byte, and nothing else runs.
func TestHintsQuoteHostileValues(t *testing.T) {
	t.Parallel()
	for _, v := range shellquotetest.Hostile {
		cluster := installTarget{Name: v, Group: v + "(1)"}
		install, err := installManifests(cluster, "tenant", "https://ward.example.com/", "ward:dev", "")
		if err != nil {
			t.Fatal(err)
		}
		agent, err := agentInstall(cluster, "https://ward.example.com", "", "ward:dev")
		if err != nil {
			t.Fatal(err)
		}
		enable := []string{"ward", "aks", "update", "-n", v, "-g", v + "(1)", "--enable-oidc-issuer"}
		shellquotetest.Commands(t, install, enable)
		shellquotetest.Commands(t, agent, enable)

		join := joinInstructions(&conn{server: "https://" + v}, "tok"+v, "later")
		shellquotetest.Commands(t, join, []string{"ward", "agent", "join", "--server", "https://" + v, "--ca-file", "/etc/ward/ca.pem", "--token", "tok" + v})

		if v == "" {
			continue // no tenant ID: the hint names no subscription
		}
		_, hint, err := chooseSubscription(nil, "", v, "app"+v)
		if err != nil {
			t.Fatal(err)
		}
		shellquotetest.Commands(t, hint, []string{"ward", "role", "assignment", "create", "--assignee", "app" + v, "--role", "Contributor", "--scope", "/subscriptions/" + v})
		_, hint, _ = chooseSubscription(nil, "00000000-0000-0000-0000-0000000000aa", "", "app"+v)
		shellquotetest.Commands(t, hint, []string{"ward", "role", "assignment", "create", "--assignee", "app" + v, "--role", "Reader", "--scope", "/subscriptions/00000000-0000-0000-0000-0000000000aa"})
	}
}

// TestDoctorKubeHintsQuoteValues runs the doctor's Kubernetes fixes (a
// missing service account, a missing client-ID annotation) with hostile
// namespace and service account names under sh -c. The cluster is client-go's
// fake dynamic client: it validates no names, so the values reach the hints as
// an API server could hand them over.
func TestDoctorKubeHintsQuoteValues(t *testing.T) {
	t.Parallel()
	for _, v := range shellquotetest.Hostile {
		ns, sa := "ns"+v, "sa"+v
		var out bytes.Buffer
		if err := diagnose(context.Background(), &report{w: &out}, kubeapitest.Fake(nil), &conn{}, ns, "", sa); err != nil {
			t.Fatal(err)
		}
		shellquotetest.Commands(t, out.String(), []string{"kubectl", "create", "serviceaccount", sa, "-n", ns})

		kube := kubeapitest.Fake(nil, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa, Namespace: ns}})
		// The fake would store the token request as sent, with no token;
		// like a cluster that refuses it, it answers an error, and the
		// doctor notes that it cannot check the token's claims.
		kube.PrependReactor("create", "serviceaccounts", func(a k8stesting.Action) (bool, runtime.Object, error) {
			return a.GetSubresource() == "token", nil, errors.New("the fake cluster issues no tokens")
		})
		out.Reset()
		if err := diagnose(context.Background(), &report{w: &out}, kube, &conn{}, ns, "", sa); err != nil {
			t.Fatal(err)
		}
		// The hint ends in a command substitution of Ward's own; the values
		// before it stay single words.
		want := shellquote.Join("kubectl", "annotate", "serviceaccount", sa, "-n", ns) + " azure.workload.identity/client-id=$(ward identity show"
		if !strings.Contains(out.String(), want) {
			t.Errorf("doctor printed\n%s\nwant %q", out.String(), want)
		}
	}
}
