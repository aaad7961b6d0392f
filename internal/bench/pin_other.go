//go:build !linux

package bench

import (
	"errors"
	"os/exec"
)

var errPinned = errors.New("the pinned mode needs Linux (CPU affinity)")

// PinProcess is Linux-only.
func PinProcess(int) error { return errPinned }

// StartPinned is Linux-only.
func StartPinned(*exec.Cmd, int) error { return errPinned }
