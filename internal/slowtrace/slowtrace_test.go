package slowtrace

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSnapshotOnSlowRequest: a fast request writes nothing, a slow one
// writes one trace file (a real Go execution trace), a burst shares it, and
// only the newest Keep files stay.
func TestSnapshotOnSlowRequest(t *testing.T) {
	dir := t.TempDir()
	var logs bytes.Buffer
	r, err := Start(Config{Threshold: 10 * time.Millisecond, Dir: dir, Every: time.Hour, Keep: 1, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	r.Observe("POST /token", time.Millisecond)
	r.Observe("POST /token", 50*time.Millisecond)
	r.Observe("POST /token", 60*time.Millisecond) // within Every: shares the first
	waitFor(t, func() bool { return r.Written() == 1 })
	files, _ := filepath.Glob(filepath.Join(dir, "slow-*.trace"))
	if len(files) != 1 || !strings.Contains(files[0], "50ms-POST_token") {
		t.Fatalf("trace files = %v", files)
	}
	b, err := os.ReadFile(files[0])
	if err != nil || !bytes.HasPrefix(b, []byte("go 1.")) {
		t.Fatalf("not an execution trace (%d bytes, %v): %.20q", len(b), err, b)
	}
	if !strings.Contains(logs.String(), "go tool trace") {
		t.Fatalf("log does not say how to read it: %s", logs.String())
	}
	// Keep: 1.
	r.last.Store(0)
	r.Observe("GET /x", time.Second)
	waitFor(t, func() bool { return r.Written() == 2 })
	if files, _ := filepath.Glob(filepath.Join(dir, "slow-*.trace")); len(files) != 1 || !strings.Contains(files[0], "GET_x") {
		t.Fatalf("after pruning: %v", files)
	}
}

func TestNilRecorderIsOff(t *testing.T) {
	var r *Recorder
	r.Observe("x", time.Hour)
	r.Stop()
	if r.Written() != 0 {
		t.Fatal("nil recorder wrote")
	}
	if _, err := Start(Config{Dir: t.TempDir()}); err == nil {
		t.Fatal("started without a threshold")
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
	}
}
