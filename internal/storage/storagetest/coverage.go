package storagetest

import (
	"reflect"
	"sort"
	"sync"

	"github.com/ward-id/ward/internal/storage"
)

// recorder is a storage.Storage that passes every call to s and records
// the method's name, so that Run can fail when the suite never exercises a
// method of the interface. Its methods are generated (recorder.go) from the
// interface by reflection (package recordergen, which also fails when
// the file is out of date).
type recorder struct {
	s    storage.Storage
	seen *calls
}

// calls is the set of method names called, shared by every store of a run.
type calls struct {
	mu   sync.Mutex
	seen map[string]bool
}

func (r *recorder) hit(method string) {
	r.seen.mu.Lock()
	r.seen.seen[method] = true
	r.seen.mu.Unlock()
}

// missing returns the methods of storage.Storage never called, sorted.
func (c *calls) missing() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	typ := reflect.TypeOf((*storage.Storage)(nil)).Elem()
	for i := 0; i < typ.NumMethod(); i++ {
		if name := typ.Method(i).Name; !c.seen[name] {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}
