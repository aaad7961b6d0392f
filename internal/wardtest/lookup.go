package wardtest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ward-id/ward/internal/armerr"
)

// Lookup is one case of a read of one ARM resource: it finds the resource
// (WantName) or names what is missing with an ARM error code (WantCode),
// in Reads store reads.
type Lookup struct {
	Name string
	// Read reads the resource and returns the name it found.
	Read     func(ctx context.Context) (string, error)
	WantName string
	WantCode string
	Reads    int
}

// CheckLookups runs each case as a subtest and checks its answer and how
// many times it called the store's methods (the reads it may make: the
// resource's, its parents', the group's and the subscription's).
func CheckLookups(t *testing.T, st *Store, methods []string, cases []Lookup) {
	t.Helper()
	reads := func() int {
		n := 0
		for _, m := range methods {
			n += st.Calls(m)
		}
		return n
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			before := reads()
			name, err := c.Read(context.Background())
			var e *armerr.Error
			code := ""
			if errors.As(err, &e) {
				code = e.Code
			}
			if code != c.WantCode || (c.WantCode == "" && err != nil) {
				t.Fatalf("read = %v (code %q), want code %q", err, code, c.WantCode)
			}
			if c.WantCode == "" && name != c.WantName {
				t.Fatalf("read found %q, want %q", name, c.WantName)
			}
			if n := reads() - before; n != c.Reads {
				t.Errorf("read the store %d times, want %d", n, c.Reads)
			}
		})
	}
}

// InGroup are the five reads every resource directly in a resource group
// answers, as ARM does. Resource name must exist in group "rg" of
// subscription sub; read(sub, group, name) reads one and returns the name
// it found.
//   - Found by name, in the stored or any other casing: one store read.
//   - A miss reads the resource first, then its group and subscription to
//     name what is missing: ResourceNotFound for "other" (3 reads),
//     ResourceGroupNotFound for group "nope" (3), SubscriptionNotFound for
//     a subscription that does not exist (2).
//
// kind names the resource in the miss's case ("no identity").
func InGroup(kind, sub, name string, read func(sub, group, name string) func(context.Context) (string, error)) []Lookup {
	const noSub = "00000000-0000-0000-0000-0000000000ff"
	return []Lookup{
		{Name: "found", Read: read(sub, "rg", name), WantName: name, Reads: 1},
		{Name: "found, other casing", Read: read(sub, "RG", strings.ToUpper(name)), WantName: name, Reads: 1},
		{Name: "no " + kind, Read: read(sub, "rg", "other"), WantCode: armerr.CodeResourceNotFound, Reads: 3},
		{Name: "no group", Read: read(sub, "nope", name), WantCode: armerr.CodeResourceGroupNotFound, Reads: 3},
		{Name: "no subscription", Read: read(noSub, "rg", name), WantCode: armerr.CodeSubscriptionNotFound, Reads: 2},
	}
}
