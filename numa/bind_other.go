//go:build !linux

package numa

import "errors"

// ErrUnsupported: binding and querying memory is implemented on Linux only.
var ErrUnsupported = errors.New("numa: not supported on this system")

// Bind is not supported outside Linux.
func Bind([]byte, int) error { return ErrUnsupported }

// Where is not supported outside Linux.
func Where([]byte) ([]int, error) { return nil, ErrUnsupported }
