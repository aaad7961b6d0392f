// Package postgrestest starts a throwaway PostgreSQL server for tests: initdb
// into a temporary directory, pg_ctl start on a free loopback port, and stop
// plus removal when the test ends. As root it runs the server as "nobody",
// since PostgreSQL refuses to run as root.
package postgrestest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// Binaries returns the directory holding initdb and pg_ctl, or "" when
// PostgreSQL is not installed.
func Binaries() string {
	if p, err := exec.LookPath("initdb"); err == nil {
		if _, err := exec.LookPath("pg_ctl"); err == nil {
			return filepath.Dir(p)
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Sort(sort.Reverse(sort.StringSlice(dirs)))
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			return d
		}
	}
	return ""
}

// Start starts a server and returns a DSN for a fresh database on it. The
// test is skipped when no PostgreSQL binaries exist, unless
// WARD_REQUIRE_POSTGRES is set (CI sets it, so the run cannot pass silently).
func Start(t testing.TB) string {
	t.Helper()
	return StartServer(t).DSN
}

// Server is a running throwaway PostgreSQL server.
type Server struct {
	DSN     string
	restart func(t testing.TB)
}

// Restart stops the server as a crash would (immediate mode) and starts it
// again on the same port and data.
func (s *Server) Restart(t testing.TB) { t.Helper(); s.restart(t) }

// StartServer starts a server, as Start does, and returns a handle that
// can restart it.
func StartServer(t testing.TB) *Server {
	t.Helper()
	if testing.Short() && os.Getenv("WARD_REQUIRE_POSTGRES") == "" {
		// The quick suite (hack/test.sh -short) keeps to SQLite: a throwaway
		// PostgreSQL and its conformance run take a minute or two by themselves.
		t.Skip("-short: PostgreSQL runs in the full suite (or set WARD_REQUIRE_POSTGRES)")
	}
	bin := Binaries()
	if bin == "" {
		if os.Getenv("WARD_REQUIRE_POSTGRES") != "" {
			t.Fatal("WARD_REQUIRE_POSTGRES is set but no PostgreSQL server binaries (initdb, pg_ctl) were found")
		}
		t.Skip("PostgreSQL server binaries (initdb, pg_ctl) not found; install postgresql to run this test")
	}
	dir, err := os.MkdirTemp("", "ward-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("nobody")
		if err != nil {
			t.Fatalf("running as root and no 'nobody' user to run PostgreSQL as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	run := func(name string, args ...string) {
		t.Helper()
		cmd := exec.Command(filepath.Join(bin, name), args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "LC_ALL=C")
		if cred != nil {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
	}
	data := filepath.Join(dir, "data")
	run("initdb", "-D", data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")
	port := freePort(t)
	start := func() {
		run("pg_ctl", "-D", data, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "start",
			"-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100", port, dir))
	}
	start()
	t.Cleanup(func() {
		cmd := exec.Command(filepath.Join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop")
		if cred != nil {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		}
		_ = cmd.Run()
	})
	return &Server{DSN: fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable&connect_timeout=10", port),
		restart: func(t testing.TB) {
			t.Helper()
			run("pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
			start()
		}}
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	// Give the kernel a moment to release the port before postgres binds it.
	defer time.Sleep(10 * time.Millisecond)
	return l.Addr().(*net.TCPAddr).Port
}
