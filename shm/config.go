package shm

import (
	"fmt"
	"log/slog"
	"os/user"
	"strconv"
)

// DefaultDir is where regions live when Config.Dir is empty.
const DefaultDir = "/dev/shm"

// Config says where and how a region is mapped. The zero value maps regions
// under /dev/shm, prefaulted, neither locked nor backed by huge pages.
type Config struct {
	// Dir is the directory holding region files. Empty means DefaultDir.
	// It should be a tmpfs; any directory works (tests use t.TempDir()).
	Dir string

	// Lock mlocks the mapping so it is never swapped out. It fails the
	// call when RLIMIT_MEMLOCK is too small.
	Lock bool

	// HugePages asks for transparent huge pages with MADV_HUGEPAGE. It
	// works only on a tmpfs mounted with huge=advise, within_size or always;
	// otherwise the region is mapped with normal pages and
	// Region.HugePages says why. It never fails the call.
	HugePages bool

	// NoPopulate skips prefaulting. By default every page is faulted in
	// for writing at map time (MADV_POPULATE_WRITE, or MAP_POPULATE on
	// kernels before 5.14) so the first messages do not pay page faults.
	NoPopulate bool

	// Group, when set (a group name or a numeric id), shares regions with
	// a group instead of keeping them to this user: a region is created
	// with mode 0660 and that group, and Open accepts a region of another
	// owner when it has mode 0660 and that group. It is for peers that run
	// as different users who share a group, such as two containers of one
	// pod sharing a memory-backed directory; both sides set it. Empty:
	// regions are the user's own (mode 0600, owner checked).
	Group string

	// Logger receives debug records about mapping decisions; nil is silent.
	Logger *slog.Logger
}

func (c *Config) dir() string {
	if c.Dir == "" {
		return DefaultDir
	}
	return c.Dir
}

// gid resolves Group: the group id, or -1 when Group is empty.
func (c *Config) gid() (int, error) {
	if c.Group == "" {
		return -1, nil
	}
	if id, err := strconv.Atoi(c.Group); err == nil && id >= 0 {
		return id, nil
	}
	g, err := user.LookupGroup(c.Group)
	if err != nil {
		return -1, fmt.Errorf("%w: group %q: %v", ErrPermission, c.Group, err)
	}
	return strconv.Atoi(g.Gid)
}
