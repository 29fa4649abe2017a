package shm

import "errors"

// Sentinel errors. Errors returned by this package wrap one of them, usually
// inside an *Error; test with errors.Is.
var (
	// ErrBadName: the name is not "rshm-" followed by a file name.
	ErrBadName = errors.New("shm: bad region name")
	// ErrBadHeader: the region does not start with a valid header.
	ErrBadHeader = errors.New("shm: bad region header")
	// ErrVersion: the header is from another layout version.
	ErrVersion = errors.New("shm: unsupported layout version")
	// ErrSize: the region's size is out of range or does not match its header.
	ErrSize = errors.New("shm: bad region size")
	// ErrPermission: the file is not owned by this user or not mode 0600.
	ErrPermission = errors.New("shm: region owner or mode not accepted")
	// ErrClosed: the region was closed.
	ErrClosed = errors.New("shm: region closed")
	// ErrNotDuplex: the region holds no rings or their layout does not fit.
	ErrNotDuplex = errors.New("shm: region is not a duplex")
	// ErrFault: touching the mapping faulted: the region's file was
	// truncated under it, by the peer or another process that opened it.
	ErrFault = errors.New("shm: memory fault in the region (its file was truncated)")
	// ErrLinked: Link of a region that has its name already.
	ErrLinked = errors.New("shm: region already named")
)

// Error records a failed operation on a region, like os.PathError.
type Error struct {
	Op   string // "create", "open", "unlink", "close", "duplex", ...
	Name string // region name, "rshm-..."
	Err  error
}

func (e *Error) Error() string {
	if e.Name == "" {
		return "shm: " + e.Op + ": " + e.Err.Error()
	}
	return "shm: " + e.Op + " " + e.Name + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }
