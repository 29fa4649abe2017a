package shm

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"sync/atomic"
)

var errStat = errors.New("shm: cannot parse /proc/PID/stat")

// parseStartTime returns field 22 (starttime) of a /proc/PID/stat line. The
// second field, the command name in parentheses, may itself hold spaces and
// parentheses, so fields are counted from the last ')'.
func parseStartTime(stat []byte) (uint64, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errStat
	}
	// After ")" come fields 3, 4, ...; starttime is the 20th of them.
	fields := bytes.Fields(stat[i+1:])
	if len(fields) < 20 {
		return 0, errStat
	}
	v, err := strconv.ParseUint(string(fields[19]), 10, 64)
	if err != nil {
		return 0, errStat
	}
	return v, nil
}

// selfStart returns procStart of this process, read from /proc once: a
// process's start time never changes. Failures are not remembered.
func selfStart() (uint64, error) {
	if v := selfStartCache.Load(); v != 0 {
		return v, nil
	}
	v, err := procStart(os.Getpid())
	if err != nil {
		return 0, err
	}
	selfStartCache.Store(v)
	return v, nil
}

// selfStartCache holds selfStart's answer; 0 until read (a process that
// started in the first clock tick after boot reads /proc every time).
var selfStartCache atomic.Uint64
