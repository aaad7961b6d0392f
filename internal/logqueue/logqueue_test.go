package logqueue

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ward-id/ward/internal/logtest"
)

// gate is an output that blocks every write until opened: a stderr pipe
// nobody reads.
type gate struct {
	logtest.Buffer
	open    chan struct{}
	entered chan struct{} // one value per write that started
}

func newGate() *gate { return &gate{open: make(chan struct{}), entered: make(chan struct{}, 1000)} }

func (g *gate) Write(p []byte) (int, error) {
	g.entered <- struct{}{}
	<-g.open
	return g.Buffer.Write(p)
}

// TestOrderAndWholeLines: lines from many goroutines come out whole, each
// goroutine's in the order it wrote them, none lost when nothing is full.
func TestOrderAndWholeLines(t *testing.T) {
	var out logtest.Buffer
	q := New(Config{Out: &out, Size: 512}) // small: the drainer swaps often
	const writers, lines = 8, 500
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range lines {
				// Lines that must be kept wait for room, so none is dropped.
				fmt.Fprintf(q.Wait(), "w=%d i=%d %s\n", w, i, strings.Repeat("x", i%40))
			}
		}()
	}
	wg.Wait()
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	next := make([]int, writers)
	got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(got) != writers*lines {
		t.Fatalf("got %d lines, want %d", len(got), writers*lines)
	}
	for _, l := range got {
		var w, i int
		var pad string
		if _, err := fmt.Sscanf(l, "w=%d i=%d %s", &w, &i, &pad); err != nil && i%40 != 0 {
			t.Fatalf("line %q is not whole: %v", l, err)
		}
		if i != next[w] || len(pad) != i%40 {
			t.Fatalf("line %q: want w=%d i=%d with %d x", l, w, next[w], next[w]%40)
		}
		next[w]++
	}
	if q.Dropped() != 0 {
		t.Fatalf("dropped %d lines with room to wait", q.Dropped())
	}
}

// TestCloseFlushes: Close returns after every pending line is written,
// and a line written after Close goes straight out.
func TestCloseFlushes(t *testing.T) {
	g := newGate()
	q := New(Config{Out: g, Size: 1 << 16})
	fmt.Fprintf(q.Drop(), "first\n")
	<-g.entered // the drainer is stuck writing "first"
	for i := range 100 {
		fmt.Fprintf(q.Drop(), "line %d\n", i)
	}
	closed := make(chan struct{})
	go func() { _ = q.Close(); close(closed) }()
	select {
	case <-closed:
		t.Fatal("Close returned before the pending lines were written")
	case <-time.After(50 * time.Millisecond):
	}
	close(g.open)
	<-closed
	fmt.Fprintf(q.Drop(), "after close\n")
	want := "first\n"
	for i := range 100 {
		want += fmt.Sprintf("line %d\n", i)
	}
	want += "after close\n"
	if got := g.String(); got != want {
		t.Fatalf("output:\n%s\nwant:\n%s", got, want)
	}
}

// TestDropsCountedNotBlocking: with the output blocked, writes of lines
// that may be lost return at once; those beyond the buffer are counted,
// the rest written in order once the output moves, followed by a warning
// with the count.
func TestDropsCountedNotBlocking(t *testing.T) {
	g := newGate()
	const size = 100
	q := New(Config{Out: g, Size: size, WarnEvery: time.Millisecond})
	fmt.Fprintf(q.Drop(), "blocked\n")
	<-g.entered            // the drainer holds "blocked" and cannot write more
	line := "0123456789\n" // 11 bytes: 9 fit in 100
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 50 {
			_, _ = q.Drop().Write([]byte(line))
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("writes blocked on a blocked output")
	}
	if got, want := q.Dropped(), uint64(50-size/len(line)); got != want {
		t.Fatalf("Dropped() = %d, want %d", got, want)
	}
	close(g.open)
	_ = q.Close()
	out := g.String()
	want := "blocked\n" + strings.Repeat(line, size/len(line))
	if !strings.HasPrefix(out, want) {
		t.Fatalf("output %q does not start with %q", out, want)
	}
	if !strings.Contains(out[len(want):], "level=WARN") || !strings.Contains(out, "dropped_total=41") {
		t.Fatalf("no warning with the count after the lines: %q", out[len(want):])
	}
}

// TestWaitWaitsForRoom: a line that must be kept waits while the buffer is
// full and is written once the output moves.
func TestWaitWaitsForRoom(t *testing.T) {
	g := newGate()
	q := New(Config{Out: g, Size: 20})
	fmt.Fprintf(q.Drop(), "blocked\n")
	<-g.entered
	fmt.Fprintf(q.Drop(), "0123456789abcdef\n") // 17 bytes: the buffer is full
	wrote := make(chan struct{})
	go func() { fmt.Fprintf(q.Wait(), "kept\n"); close(wrote) }()
	select {
	case <-wrote:
		t.Fatal("a line that must be kept did not wait for room")
	case <-time.After(50 * time.Millisecond):
	}
	close(g.open)
	<-wrote
	_ = q.Close()
	if got, want := g.String(), "blocked\n0123456789abcdef\nkept\n"; got != want {
		t.Fatalf("output %q, want %q", got, want)
	}
	if q.Dropped() != 0 {
		t.Fatalf("dropped %d", q.Dropped())
	}
}
