//go:build !linux

package bench

import (
	"errors"
	"os/exec"
	"time"
)

var errPinned = errors.New("the pinned mode needs Linux (CPU affinity)")

// PinProcess is Linux-only.
func PinProcess(int) error { return errPinned }

// StartPinned is Linux-only.
func StartPinned(*exec.Cmd, int) error { return errPinned }

// SignCostOn is Linux-only.
func SignCostOn(string, time.Duration, int) (time.Duration, error) { return 0, errPinned }
