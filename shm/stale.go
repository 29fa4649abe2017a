package shm

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// UnreadableGrace is how old a region with an unreadable header must be
// before Stale reports it: younger ones may belong to a creator that has
// made the file but not yet written the header.
const UnreadableGrace = time.Minute

// StaleReason says why a region is stale.
type StaleReason uint8

const (
	// StaleDead: no process has the creator's pid.
	StaleDead StaleReason = iota + 1
	// StaleReused: a process has the creator's pid but started at another
	// time, so the pid was reused.
	StaleReused
	// StaleUnreadable: the header is invalid and the file is older than
	// UnreadableGrace.
	StaleUnreadable
	// StaleForeign: the creator runs in another PID namespace (another
	// container of the pod), where its pid cannot be looked up, and the
	// file is older than UnreadableGrace: a region has a name only for
	// the moments of a handshake.
	StaleForeign
)

var staleReasonNames = [...]string{
	StaleDead:       "creator dead",
	StaleReused:     "creator pid reused",
	StaleUnreadable: "header unreadable",
	StaleForeign:    "creator in another PID namespace",
}

func (r StaleReason) String() string {
	if int(r) < len(staleReasonNames) && staleReasonNames[r] != "" {
		return staleReasonNames[r]
	}
	return fmt.Sprintf("StaleReason(%d)", uint8(r))
}

// StaleRegion is a region file whose creator is gone.
type StaleRegion struct {
	Name    string
	Path    string
	PID     int // creator pid from the header; 0 when unreadable
	Reason  StaleReason
	Size    int64
	ModTime time.Time
}

// Stale lists the region files in dir (names starting "rshm-", regular
// files owned by this user) whose creator is dead, whose creator's pid now
// belongs to a process that started at another time, or whose header is
// unreadable, or whose creator runs in another PID namespace, and that is
// older than UnreadableGrace. It never reports other files,
// and never a region whose creator is alive. Files it cannot inspect are
// skipped; the first such error is returned with the list.
func Stale(dir string) ([]StaleRegion, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, &Error{Op: "stale", Err: err}
	}
	var out []StaleRegion
	var first error
	now := time.Now()
	for _, e := range ents {
		name := e.Name()
		if checkName(name) != nil || !e.Type().IsRegular() {
			continue
		}
		s, ok, err := staleCheck(filepath.Join(dir, name), now)
		if err != nil {
			if first == nil && !errors.Is(err, os.ErrNotExist) {
				first = &Error{Op: "stale", Name: name, Err: err}
			}
			continue
		}
		if ok {
			out = append(out, s)
		}
	}
	return out, first
}

// staleCheck inspects one candidate file.
func staleCheck(path string, now time.Time) (StaleRegion, bool, error) {
	s := StaleRegion{Name: filepath.Base(path), Path: path}
	fi, err := os.Lstat(path)
	if err != nil {
		return s, false, err
	}
	if !fi.Mode().IsRegular() || checkOwner(fi) != nil {
		return s, false, nil
	}
	s.Size, s.ModTime = fi.Size(), fi.ModTime()
	f, err := os.Open(path)
	if err != nil {
		return s, false, err
	}
	defer f.Close()
	var buf [creatorEnd]byte
	n, err := f.ReadAt(buf[:], 0)
	if err != nil && err != io.EOF {
		return s, false, err
	}
	h, err := parseHeader(buf[:n], fi.Size())
	if err != nil {
		s.Reason = StaleUnreadable
		return s, now.Sub(s.ModTime) > UnreadableGrace, nil
	}
	s.PID = int(h.creatorPID)
	if ns := pidNamespace(); h.creatorNS != 0 && ns != 0 && h.creatorNS != ns {
		s.Reason = StaleForeign
		return s, now.Sub(s.ModTime) > UnreadableGrace, nil
	}
	if !alive(s.PID) {
		s.Reason = StaleDead
		return s, true, nil
	}
	start, err := procStart(s.PID)
	if err != nil {
		// The process exited between the two looks.
		if errors.Is(err, os.ErrNotExist) && !alive(s.PID) {
			s.Reason = StaleDead
			return s, true, nil
		}
		return s, false, nil
	}
	if start != h.creatorStart {
		s.Reason = StaleReused
		return s, true, nil
	}
	return s, false, nil
}

// RemoveStale removes the regions Stale(dir) reports and returns the names
// it removed. Errors, for Stale and for each removal, are joined.
func RemoveStale(dir string) ([]string, error) {
	list, err := Stale(dir)
	errs := []error{err}
	var removed []string
	for _, s := range list {
		if err := os.Remove(s.Path); err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, &Error{Op: "remove", Name: s.Name, Err: err})
			}
			continue
		}
		removed = append(removed, s.Name)
	}
	return removed, errors.Join(errs...)
}
