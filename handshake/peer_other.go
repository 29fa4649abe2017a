//go:build !linux

package handshake

import (
	"errors"
	"net"
)

// errUnsupported: the co-location checks need Linux's /proc.
var errUnsupported = errors.New("co-location checks need Linux")

func readBootID() ([16]byte, error)             { return [16]byte{}, errUnsupported }
func dirID(string) (dev, ino uint64, err error) { return 0, 0, errUnsupported }
func peerUID(net.Conn) (uint32, error)          { return 0, errUnsupported }
