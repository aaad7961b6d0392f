package procmem

import (
	"os"
	"reflect"
	"testing"
)

// In the running test binary both its code and its read-only data are
// found, and nothing writable.
func TestExecutableMappingsOfThisProcess(t *testing.T) {
	maps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	perms := map[mapping]string{}
	for _, l := range parseMaps(maps) {
		perms[l.mapping] = l.perms
	}
	pc := uint64(reflect.ValueOf(TestExecutableMappingsOfThisProcess).Pointer())
	seen := map[string]bool{}
	for _, m := range executableMappings(maps, pc) {
		seen[perms[m]] = true
	}
	if !seen["r-xp"] || !seen["r--p"] || len(seen) != 2 {
		t.Errorf("mappings released have permissions %v, want r-xp (code) and r--p (read-only data) only\n%s", seen, maps)
	}
}

// After the release the process goes on running the code it dropped, and
// reading memory still works.
func TestReleaseExecutable(t *testing.T) {
	if _, err := ReleaseExecutable(); err != nil {
		t.Fatal(err)
	}
	u, err := Read(0)
	if err != nil {
		t.Fatal(err)
	}
	if u.RSS <= 0 || u.Anon <= 0 || u.RSS < u.Anon+u.File {
		t.Errorf("Read(0) after the release = %+v", u)
	}
	if _, err := ReleaseExecutable(); err != nil {
		t.Errorf("a second release: %v", err)
	}
}
