package procmem

import (
	"os"
	"reflect"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseDevMatchesKernel(t *testing.T) {
	for _, tc := range []struct {
		in           string
		major, minor uint32
	}{{"fe:00", 0xfe, 0}, {"08:11", 8, 0x11}, {"103:1a2", 0x103, 0x1a2}} {
		got, ok := parseDev(tc.in)
		if want := unix.Mkdev(tc.major, tc.minor); !ok || got != want {
			t.Errorf("parseDev(%q) = %#x, %v; want %#x", tc.in, got, ok, want)
		}
	}
}

// The test binary's own code must be among the mappings released: this
// function's address lies in one of them.
func TestExecutableMappingsOfThisProcess(t *testing.T) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/exe", &st); err != nil {
		t.Skip(err)
	}
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	pc := uint64(reflect.ValueOf(TestExecutableMappingsOfThisProcess).Pointer())
	ms := executableMappings(maps, st.Dev, st.Ino)
	for _, m := range ms {
		if m.start <= pc && pc < m.end {
			return
		}
	}
	t.Errorf("no released mapping %x holds this test's code at %#x", ms, pc)
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
