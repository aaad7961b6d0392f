// Package workers runs HTTP/2 handlers on long-lived goroutines whose
// stacks have already grown.
//
// Go's HTTP/2 server starts a new goroutine for every request. A new
// goroutine's stack starts at the average size the collector last saw,
// and on a server most goroutines are shallow (connection readers, timers,
// background loops), so a handler of some depth grows its stack on every
// request: each growth allocates a larger stack and copies the old one,
// walking every frame. A pinned ward serve spent 5–20 µs of CPU per request
// doing so (perf and pprof: runtime.newstack under the token handler and
// under RSA signing), about a tenth of a no-op request's cost.
//
// A Pool hands each HTTP/2 request to an idle worker goroutine instead,
// and the request's own goroutine waits for it. A worker keeps the stack
// it grew (until the collector shrinks an idle one), so the growth is paid
// once per worker, not once per request. HTTP/1.x requests are served in
// place: net/http already runs them on the connection's long-lived
// goroutine.
//
// A handler served this way must not leave state on its goroutine for the
// next request: a thread left locked (runtime.LockOSThread) or profiler
// labels set with pprof.SetGoroutineLabels would stay with the worker.
// Ward's handlers do neither.
package workers

import (
	"net/http"
	"runtime"
	"sync"
)

// IdlePerCPU is how many idle workers a Pool keeps per GOMAXPROCS when
// Config.Idle is 0. Beyond that a worker ends after its request: a burst
// of more concurrent requests starts new goroutines, as net/http would
// have, and does not leave their stacks behind.
const IdlePerCPU = 8

// Config configures a Pool.
type Config struct {
	// Idle caps the workers kept waiting between requests (IdlePerCPU ×
	// GOMAXPROCS when 0). Each holds the stack it grew, 8–32 KiB on
	// Ward's handlers, until the collector shrinks an idle one.
	Idle int
}

// Pool is a set of worker goroutines. Its zero value is not usable; call
// New.
type Pool struct {
	mu   sync.Mutex
	idle []*worker // last in, first out: the most recently used stack is the warmest
	max  int
}

// New returns an empty Pool: workers start on demand.
func New(cfg Config) *Pool {
	if cfg.Idle <= 0 {
		cfg.Idle = IdlePerCPU * runtime.GOMAXPROCS(0)
	}
	return &Pool{max: cfg.Idle}
}

// job is one request handed to a worker.
type job struct {
	h http.Handler
	w http.ResponseWriter
	r *http.Request
}

// outcome is how a job ended: normally, by a panic (with its value), or by
// runtime.Goexit, which ends the worker too.
type outcome struct {
	panicked bool
	value    any
	exited   bool
}

type worker struct {
	jobs chan job     // unbuffered: a send is a hand-off
	done chan outcome // buffered: the worker never waits for its caller
}

// Handler serves h's HTTP/2 requests on the pool's workers and its other
// requests in place. The calling goroutine waits for the worker, so
// net/http's contract holds as before: the handler has returned (and will
// not touch w or r again) when ServeHTTP returns. A panic in h is raised
// again on the calling goroutine with the same value, so net/http treats
// it (and http.ErrAbortHandler) as it always has.
func (p *Pool) Handler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor < 2 {
			h.ServeHTTP(w, r)
			return
		}
		wk := p.get()
		wk.jobs <- job{h: h, w: w, r: r}
		o := <-wk.done
		switch {
		case o.exited:
			runtime.Goexit()
		case o.panicked:
			panic(o.value) // that worker has ended; a fresh one replaces it
		}
		p.put(wk)
	})
}

func (p *Pool) get() *worker {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		wk := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return wk
	}
	p.mu.Unlock()
	wk := &worker{jobs: make(chan job), done: make(chan outcome, 1)}
	go wk.run()
	return wk
}

func (p *Pool) put(wk *worker) {
	p.mu.Lock()
	if len(p.idle) < p.max {
		p.idle = append(p.idle, wk)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	close(wk.jobs)
}

// Close ends the idle workers. Workers busy with a request end when it
// does, if the pool is full then; a Pool is meant to live as long as its
// server.
func (p *Pool) Close() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.max = 0
	p.mu.Unlock()
	for _, wk := range idle {
		close(wk.jobs)
	}
}

// Idle reports how many workers wait for a request.
func (p *Pool) Idle() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle)
}

func (wk *worker) run() {
	for j := range wk.jobs {
		if !wk.serve(j) {
			return
		}
	}
}

// serve runs one job and reports whether the worker may take another:
// ok is true only once the handler has returned normally, which the
// deferred report reads to tell that from a panic or runtime.Goexit.
func (wk *worker) serve(j job) (ok bool) {
	defer func() {
		if ok {
			wk.done <- outcome{}
			return
		}
		if v := recover(); v != nil {
			wk.done <- outcome{panicked: true, value: v}
			return
		}
		// runtime.Goexit: this goroutine is ending whatever we do.
		wk.done <- outcome{exited: true}
	}()
	j.h.ServeHTTP(j.w, j.r)
	return true
}
