// Package logtest has what tests need to read the log a server or a
// background writer produces while it runs.
package logtest

import (
	"bytes"
	"sync"
)

// Buffer is an output many goroutines may write while a test reads it:
// a bytes.Buffer behind a mutex. Its zero value is ready to use.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
