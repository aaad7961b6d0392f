// Package shellquotetest runs a rendered command line under sh -c with the
// programs it names replaced by argument printers, so a test can prove that
// each hostile value reached the program as one argument, byte for byte,
// and that nothing else ran.
package shellquotetest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ward-id/ward/internal/shellquote"
)

// Canary is the file a hostile value tries to create; Run fails the test
// if it exists after the command ran.
const Canary = "pwned"

// Hostile are values that break an unquoted or double-quoted command: a
// command substitution, a double-quote breakout, a single quote, backticks,
// a newline, separators, a pipe, globs, spaces, a leading dash and tilde.
// Each tries to create Canary in the working directory.
var Hostile = []string{
	"app$(touch " + Canary + ")",
	`x"; touch ` + Canary + `; echo "`,
	"a'b",
	"a'; touch " + Canary + "; echo 'b",
	"`touch " + Canary + "`",
	"line1\ntouch " + Canary,
	"; touch " + Canary,
	"| touch " + Canary,
	"a && touch " + Canary,
	"two words  and\ttab",
	"* ? [a] ~ ! # {a,b} $HOME ${PATH} \\ < > &",
	"",
}

// Run runs cmdline with sh -c in a fresh directory, where each of programs
// is a script printing its name and arguments, and returns what they
// printed: one slice per program run, the program's name first. It fails
// the test if the shell reports an error, writes to stderr, or Canary
// appears.
func Run(t testing.TB, cmdline string, programs ...string) [][]string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	work := filepath.Join(dir, "work")
	for _, d := range []string{bin, work} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// Each run prints its argument count, its name and its arguments,
	// each ended by NUL: an argument may hold a newline, never a NUL.
	script := "#!/bin/sh\nprintf '%s\\000' \"$#\" \"${0##*/}\" \"$@\"\n"
	for _, p := range programs {
		if err := writeProgram(filepath.Join(bin, p), script); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", cmdline)
	cmd.Dir = work
	cmd.Env = []string{"PATH=" + bin + ":" + os.Getenv("PATH"), "HOME=" + dir, "LC_ALL=C"}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if _, statErr := os.Stat(filepath.Join(work, Canary)); statErr == nil {
		t.Errorf("running %q created %s: a value ran as shell syntax", cmdline, Canary)
	}
	if err != nil || errOut.Len() > 0 {
		t.Errorf("sh -c %q: %v; stderr: %s", cmdline, err, errOut.String())
	}
	var runs [][]string
	words := strings.Split(strings.TrimSuffix(out.String(), "\x00"), "\x00")
	for len(words) > 1 {
		n, err := strconv.Atoi(words[0])
		if err != nil || n+2 > len(words) {
			t.Errorf("sh -c %q: unreadable output %q", cmdline, out.String())
			return runs
		}
		runs = append(runs, words[1:n+2])
		words = words[n+2:]
	}
	return runs
}

// Args runs cmdline (see Run) and fails the test unless exactly one
// program ran, with exactly want (the program's name first).
func Args(t testing.TB, cmdline string, want []string, programs ...string) {
	t.Helper()
	runs := Run(t, cmdline, programs...)
	if len(runs) != 1 {
		t.Errorf("sh -c %q ran %d programs %q, want one: %q", cmdline, len(runs), runs, want)
		return
	}
	got := runs[0]
	if len(got) != len(want) {
		t.Errorf("sh -c %q passed %d words %q, want %d: %q", cmdline, len(got), got, len(want), want)
		return
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("sh -c %q: word %d is %q, want %q", cmdline, i, got[i], want[i])
		}
	}
}

// Commands checks that text holds each of want as a command: the
// command's quoted form (shellquote.Join), run under sh -c from where it
// starts to the end of its line (so that whatever the text puts after it
// on the line runs too), runs exactly that program with exactly those
// arguments, and nothing else runs (see Args).
func Commands(t testing.TB, text string, want ...[]string) {
	t.Helper()
	for _, w := range want {
		q := shellquote.Join(w...)
		i := strings.Index(text, q)
		if i < 0 {
			t.Errorf("%q is not in\n%s", q, text)
			continue
		}
		line := text[i:]
		if n := strings.IndexByte(line[len(q):], '\n'); n >= 0 {
			line = line[:len(q)+n]
		}
		Args(t, line, w, w[0])
	}
}

// writeProgram writes an executable file while no fork can start in this
// process. A parallel test's fork between the file's open and close gives
// the child a copy of the descriptor open for writing until it execs, and
// executing the file in that window fails with "Text file busy" (ETXTBSY).
// syscall.ForkLock is what fork holds for writing, for this reason.
func writeProgram(path, body string) error {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	return os.WriteFile(path, []byte(body), 0o755)
}
