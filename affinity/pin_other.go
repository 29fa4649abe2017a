//go:build !linux

package affinity

import (
	"errors"
	"runtime"
)

// ErrUnsupported: thread affinity is implemented on Linux only.
var ErrUnsupported = errors.New("affinity: not supported on " + runtime.GOOS)

// Pin is not supported outside Linux.
func Pin(int) (func(), error) { return nil, ErrUnsupported }

// Allowed returns every CPU outside Linux, where it cannot be restricted.
func Allowed() ([]int, error) {
	out := make([]int, runtime.NumCPU())
	for i := range out {
		out[i] = i
	}
	return out, nil
}

// Current returns -1 outside Linux.
func Current() int { return -1 }

// PinProcess is not supported outside Linux.
func PinProcess(...int) (func(), error) { return nil, ErrUnsupported }
