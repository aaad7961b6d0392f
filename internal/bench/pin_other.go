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

// RSS is Linux-only.
func RSS(int) (int64, error) { return 0, errPinned }
