package wardtest

import (
	"context"
	"errors"
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
