//go:build !linux

package doctor

import "errors"

var errUnsupported = errors.New("doctor: not supported on this OS")

// shmSpace is not implemented outside Linux.
func shmSpace(string) (total, free uint64, err error) { return 0, 0, errUnsupported }

// memlockLimit is not implemented outside Linux.
func memlockLimit() (cur uint64, unlimited bool, err error) { return 0, false, errUnsupported }
