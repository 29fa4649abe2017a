package shm

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// NamePrefix starts the name of every region file.
const NamePrefix = "rshm-"

// maxNameLen is the longest file name Linux accepts (NAME_MAX).
const maxNameLen = 255

// Region is a file under Config.Dir mapped shared into this process.
//
// The creator (Create) and the opener (Open) each hold a Region for the same
// file. The name is a capability: whoever knows it and runs as the same user
// can map the region, so the creator hands it only to its peer, and one side
// calls Unlink as soon as both have mapped it. Close only unmaps: a region
// that nobody unlinks stays in Dir until Stale and RemoveStale find it after
// its creator died.
//
// A Region keeps no file descriptor once it is mapped and named: Create and
// Open close theirs as soon as the mapping is made, and a region made by
// PrepareDuplex keeps its descriptor only until Link names it. So once the
// name is unlinked, no other process can open the file again through
// /proc/PID/fd of either side; only the mappings keep its memory.
//
// A process that opened the file while it had a name (the peer, or another
// process of the same user that learnt the name) can still truncate it, and
// then touching the mapping past the new end faults (SIGBUS). The methods
// that read or write the mapping catch such a fault and return an error
// wrapping ErrFault (Confirmed reports false), instead of letting it end
// the process; users of Bytes and Data are on their own (see package
// shmtransport for the rings).
//
// Methods may be called from several goroutines, except that Close must not
// run while another method, or a user of Bytes, still touches the mapping.
type Region struct {
	name string
	path string
	mem  []byte
	file *os.File
	hdr  header
	huge HugeStatus

	mu       sync.Mutex
	unlinked bool
	closed   bool
}

// HugeStatus says whether a region is backed by transparent huge pages.
type HugeStatus struct {
	// Enabled is true when MADV_HUGEPAGE was applied on a mount that
	// allows it. The kernel may still fall back to small pages, for example
	// for a region smaller than one huge page.
	Enabled bool
	// Reason explains Enabled in words, for logs and doctor output.
	Reason string
}

// Create makes a new region with size bytes of data after the header,
// rounded up to whole pages, under cfg.Dir with a fresh unguessable name.
// The file is created with O_EXCL and mode 0600, truncated to size, mapped
// shared and its header written. The caller owns the name: it must Unlink
// the region (normally once the peer has mapped it) and Close it.
func Create(cfg Config, size int) (*Region, error) {
	r, err := create(cfg, size, 0, true)
	if err != nil {
		return nil, &Error{Op: "create", Name: nameOf(r), Err: err}
	}
	return r, nil
}

func nameOf(r *Region) string {
	if r == nil {
		return ""
	}
	return r.name
}

// create makes the region, under its name when named, else as a file
// without a name yet (Link gives it one); on error it returns the partly
// made region, only for its name, after removing everything it made.
func create(cfg Config, size int, ringCap uint64, named bool) (r *Region, err error) {
	if size < 0 || size > MaxSize-HeaderSize {
		return nil, fmt.Errorf("%w: %d data bytes", ErrSize, size)
	}
	page := os.Getpagesize()
	total := HeaderSize + (size+page-1)/page*page

	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, err
	}
	r = &Region{name: NamePrefix + hex.EncodeToString(id[:])}
	r.path = filepath.Join(cfg.dir(), r.name)

	start, err := selfStart()
	if err != nil {
		return r, err
	}
	var f *os.File
	if named {
		f, err = os.OpenFile(r.path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	} else {
		f, err = openUnnamed(cfg.dir())
		r.unlinked = true // nothing to unlink until Link
	}
	if err != nil {
		return r, err
	}
	r.file = f
	defer func() {
		if err != nil {
			r.release()
			os.Remove(r.path)
		}
	}()
	if gid, err := cfg.gid(); err != nil {
		return r, err
	} else if gid >= 0 {
		if err := f.Chown(-1, gid); err != nil {
			return r, err
		}
		if err := f.Chmod(0o660); err != nil {
			return r, err
		}
	}
	if err := f.Truncate(int64(total)); err != nil {
		return r, err
	}
	if r.mem, err = mapFile(f, total, !cfg.NoPopulate); err != nil {
		return r, err
	}
	if named {
		if err := r.closeFile(); err != nil {
			return r, err
		}
	}
	r.hdr = header{
		version:      Version,
		headerSize:   HeaderSize,
		totalSize:    uint64(total),
		creatorPID:   uint32(os.Getpid()),
		creatorStart: start,
		ringCap:      ringCap,
		creatorNS:    pidNamespace(),
	}
	var buf [creatorEnd]byte
	copy(r.mem, appendHeader(buf[:0], r.hdr))
	if err := r.advise(cfg); err != nil {
		return r, err
	}
	return r, nil
}

// Open maps the existing region called name under cfg.Dir. It checks, in
// order, the name, that the file is a regular file owned by this user with
// mode 0600, its size, and then the header (magic, version, recorded size
// equal to the file size) before it trusts anything in it. It closes the
// file once it is mapped.
func Open(cfg Config, name string) (*Region, error) {
	r, err := open(cfg, name)
	if err != nil {
		return nil, &Error{Op: "open", Name: name, Err: err}
	}
	return r, nil
}

func open(cfg Config, name string) (*Region, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	r := &Region{name: name, path: filepath.Join(cfg.dir(), name)}
	f, err := openNoFollow(r.path)
	if err != nil {
		return nil, err
	}
	r.file = f
	ok := false
	defer func() {
		if !ok {
			r.release()
		}
	}()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if err := checkAccess(&cfg, fi); err != nil {
		return nil, err
	}
	size := fi.Size()
	if size < HeaderSize || size > MaxSize || size%int64(os.Getpagesize()) != 0 {
		return nil, fmt.Errorf("%w: file has %d bytes", ErrSize, size)
	}
	if r.mem, err = mapFile(f, int(size), !cfg.NoPopulate); err != nil {
		return nil, err
	}
	if err := r.closeFile(); err != nil {
		return nil, err
	}
	if err := guard(func() { r.hdr, err = parseHeader(r.mem, size) }); err != nil {
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	if err := r.advise(cfg); err != nil {
		return nil, err
	}
	ok = true
	return r, nil
}

// checkAccess accepts a regular file of mode 0600 owned by this user or,
// with cfg.Group, one of mode 0660 that belongs to the group.
func checkAccess(cfg *Config, fi os.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%w: mode %v, not a regular file", ErrPermission, fi.Mode())
	}
	gid, err := cfg.gid()
	if err != nil {
		return err
	}
	switch perm := fi.Mode().Perm(); {
	case perm == 0o600:
		return checkOwner(fi)
	case perm == 0o660 && gid >= 0:
		return checkGroup(fi, gid)
	case gid >= 0:
		return fmt.Errorf("%w: mode %v, want -rw------- or -rw-rw----", ErrPermission, fi.Mode())
	}
	return fmt.Errorf("%w: mode %v, want -rw-------", ErrPermission, fi.Mode())
}

// checkName accepts "rshm-" followed by at least one character, none of
// them a slash or NUL.
func checkName(name string) error {
	if len(name) <= len(NamePrefix) || len(name) > maxNameLen ||
		!strings.HasPrefix(name, NamePrefix) || strings.ContainsAny(name, "/\x00") {
		return fmt.Errorf("%w: %q", ErrBadName, name)
	}
	return nil
}

// advise applies cfg.Lock and cfg.HugePages to the mapping.
func (r *Region) advise(cfg Config) error {
	if cfg.Lock {
		if err := lockMem(r.mem); err != nil {
			return fmt.Errorf("mlock %d bytes: %w", len(r.mem), err)
		}
	}
	r.huge = HugeStatus{Reason: "not requested"}
	if cfg.HugePages {
		r.huge = adviseHuge(r.mem, cfg.dir())
	}
	if cfg.Logger != nil {
		cfg.Logger.Debug("shm: mapped region", "name", r.name, "bytes", len(r.mem),
			"populate", !cfg.NoPopulate, "lock", cfg.Lock,
			"huge", r.huge.Enabled, "huge_reason", r.huge.Reason)
	}
	return nil
}

// Prefault faults every page of the mapping in for writing, as mapping
// without Config.NoPopulate does: for a side that mapped with NoPopulate to
// keep the page faults off its critical path and prefaults later, on a
// goroutine of its own. The caller keeps the region mapped until it
// returns.
func (r *Region) Prefault() error { return prefault(r.mem) }

// Name returns the region's file name, "rshm-" and 32 hex digits for a
// region made by Create.
func (r *Region) Name() string { return r.name }

// Path returns the region's file path.
func (r *Region) Path() string { return r.path }

// Bytes returns the whole mapping, header included; nil after Close. Bytes
// from HeaderSize on are free for the caller; the header is the package's.
func (r *Region) Bytes() []byte { return r.mem }

// Data returns the mapping after the header; nil after Close.
func (r *Region) Data() []byte {
	if r.mem == nil {
		return nil
	}
	return r.mem[HeaderSize:]
}

// Size returns the total size of the region in bytes, header included.
func (r *Region) Size() int { return int(r.hdr.totalSize) }

// Creator returns the pid of the process that created the region and its
// start time in clock ticks after boot (field 22 of /proc/PID/stat), which
// tells a live creator from a later process that reused its pid.
func (r *Region) Creator() (pid int, start uint64) {
	return int(r.hdr.creatorPID), r.hdr.creatorStart
}

// HugePages reports whether the mapping asked for huge pages, and why not.
func (r *Region) HugePages() HugeStatus { return r.huge }

// Confirm is called by the opener: it writes its pid and nonce into the
// header and then publishes them by setting the opened flag. The creator
// reads them with Confirmed or WaitConfirmed.
func (r *Region) Confirm(nonce [NonceSize]byte) error {
	if r.mem == nil {
		return &Error{Op: "confirm", Name: r.name, Err: ErrClosed}
	}
	err := guard(func() {
		binary.LittleEndian.PutUint32(r.mem[offOpenerPID:], uint32(os.Getpid()))
		copy(r.mem[offNonce:offNonce+NonceSize], nonce[:])
		r.opened().Store(1)
	})
	if err != nil {
		return &Error{Op: "confirm", Name: r.name, Err: err}
	}
	return nil
}

// Confirmed returns the nonce the opener wrote, and whether it has; false
// also when the header cannot be read (the file was truncated).
func (r *Region) Confirmed() (nonce [NonceSize]byte, ok bool) {
	if r.mem == nil {
		return nonce, false
	}
	err := guard(func() {
		if ok = r.opened().Load() == 1; ok {
			copy(nonce[:], r.mem[offNonce:offNonce+NonceSize])
		}
	})
	if err != nil || !ok {
		return [NonceSize]byte{}, false
	}
	return nonce, true
}

// WaitConfirmed polls until the opener has confirmed, backing off from 10µs
// to 1ms between looks, and returns its nonce or the context's error.
func (r *Region) WaitConfirmed(ctx context.Context) ([NonceSize]byte, error) {
	const minWait, maxWait = 10 * time.Microsecond, time.Millisecond
	t := time.NewTimer(0)
	defer t.Stop()
	for d := minWait; ; d = min(2*d, maxWait) {
		if n, ok := r.Confirmed(); ok {
			return n, nil
		}
		if r.mem == nil {
			return [NonceSize]byte{}, &Error{Op: "wait", Name: r.name, Err: ErrClosed}
		}
		t.Reset(d)
		select {
		case <-ctx.Done():
			return [NonceSize]byte{}, &Error{Op: "wait", Name: r.name, Err: ctx.Err()}
		case <-t.C:
		}
	}
}

// opened is the atomic flag of the opener line. The mapping is page
// aligned and offOpened a multiple of 4, so the word is aligned.
func (r *Region) opened() *atomic.Uint32 {
	return (*atomic.Uint32)(unsafe.Pointer(&r.mem[offOpened]))
}

// Link gives a region made by PrepareDuplex its name in the directory, so
// that the peer can open it, and closes the region's file descriptor; the
// caller then owns the name as after Create. Until Link nothing in the
// directory names the region, and it disappears with its last descriptor
// and mapping even if this process is killed. Link can be called once.
func (r *Region) Link() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.file == nil {
		return &Error{Op: "link", Name: r.name, Err: ErrLinked}
	}
	if err := linkFile(r.file, r.path); err != nil {
		return &Error{Op: "link", Name: r.name, Err: err}
	}
	r.unlinked = false
	if err := r.closeFile(); err != nil {
		return &Error{Op: "link", Name: r.name, Err: err}
	}
	return nil
}

// Unlink removes the region's name from Dir. The mappings of both sides stay
// valid until they Close. Unlink is idempotent, and a name already removed
// by the other side is not an error.
func (r *Region) Unlink() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.unlinked {
		return nil
	}
	if err := os.Remove(r.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return &Error{Op: "unlink", Name: r.name, Err: err}
	}
	r.unlinked = true
	return nil
}

// Close unmaps the region and closes its file. It does not unlink: the owner
// of the name calls Unlink (before or after Close). Close is idempotent.
func (r *Region) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	if err := r.release(); err != nil {
		return &Error{Op: "close", Name: r.name, Err: err}
	}
	return nil
}

// release unmaps and closes, returning the first error.
func (r *Region) release() error {
	var err error
	if r.mem != nil {
		err = unmap(r.mem)
		r.mem = nil
	}
	if cerr := r.closeFile(); err == nil {
		err = cerr
	}
	return err
}

// closeFile closes the region's file descriptor, if it still has one: the
// mapping does not need it.
func (r *Region) closeFile() error {
	if r.file == nil {
		return nil
	}
	err := r.file.Close()
	r.file = nil
	return err
}
