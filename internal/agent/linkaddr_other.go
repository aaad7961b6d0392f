//go:build !linux

package agent

import (
	"errors"
	"net"
)

// AddLoopbackAddress is Linux only.
func AddLoopbackAddress(net.IP) error {
	return errors.New("adding the metadata address is supported on Linux only; add it to the loopback interface yourself")
}
