package podidmigrate

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteText writes the plan for a person: the bindings and their pods, the
// steps with their state, what cannot be migrated as is, and a last line
// that says whether anything is left to do. applied says whether Apply ran.
func (p *Plan) WriteText(w io.Writer, applied bool) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Issuer: %s\n", p.Issuer)
	fmt.Fprintf(tw, "\nBindings (%d)\n", len(p.Bindings))
	for _, b := range p.Bindings {
		target := "no Ward identity"
		if b.Identity != "" {
			target = fmt.Sprintf("%s (client ID %s)", b.Identity, b.ClientID)
		}
		fmt.Fprintf(tw, "  %s/%s: selector %q, AzureIdentity %s → %s\n", b.Namespace, b.Name, b.Selector, b.AzureIdentity, target)
		for _, pod := range b.Pods {
			owner := ""
			if pod.Owner != "" {
				owner = ", owner " + pod.Owner
			}
			if pod.Excepted {
				owner += "; excepted: used the node's identity"
			}
			fmt.Fprintf(tw, "    pod %s/%s (service account %s%s)\n", pod.Namespace, pod.Name, pod.ServiceAccount, owner)
		}
		if len(b.Pods) == 0 {
			fmt.Fprintf(tw, "    no pods\n")
		}
	}
	fmt.Fprintf(tw, "\nFederated credentials (%d)\n", len(p.FederatedCredentials))
	for _, s := range p.FederatedCredentials {
		fmt.Fprintf(tw, "  %s\t%s/%s\t%s\tsubject %s\taudience %s\n", upper(s.State), s.ResourceGroup, s.IdentityName, nameOrExisting(s), s.Subject, s.Audience)
	}
	fmt.Fprintf(tw, "\nService accounts (%d)\n", len(p.ServiceAccounts))
	for _, s := range p.ServiceAccounts {
		fmt.Fprintf(tw, "  %s\t%s/%s\t%s=%s\n", upper(s.State), s.Namespace, s.Name, ClientIDAnnotation, s.ClientID)
	}
	fmt.Fprintf(tw, "\nPod templates (%d)\n", len(p.Workloads))
	for _, s := range p.Workloads {
		fmt.Fprintf(tw, "  %s\t%s %s/%s\t%s=%s\n", upper(s.State), s.Kind, s.Namespace, s.Name, UseLabel, UseValue)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(p.Issues) > 0 {
		fmt.Fprintf(w, "\nCannot be migrated as is (%d)\n", len(p.Issues))
		for _, is := range p.Issues {
			fmt.Fprintf(w, "  %s %s: %s\n", is.Kind, is.Object, is.Message)
			if is.Fix != "" {
				fmt.Fprintf(w, "      fix: %s\n", is.Fix)
			}
		}
	}
	fmt.Fprintln(w)
	_, err := fmt.Fprintln(w, p.Summary(applied))
	return err
}

// Summary is the plan's last line.
func (p *Plan) Summary(applied bool) string {
	done, pending := p.count(StateDone), p.Pending()
	switch {
	case done == 0 && pending == 0:
		return "Nothing to change: Ward and the cluster already match the plan."
	case applied:
		return fmt.Sprintf("Applied %d change(s).", done)
	default:
		return fmt.Sprintf("%d change(s) to make; run again with --apply to make them.", pending)
	}
}

func nameOrExisting(s CredentialStep) string {
	if s.Existing != "" {
		return s.Existing
	}
	return s.Name
}

func upper(state string) string { return strings.ToUpper(state) }
