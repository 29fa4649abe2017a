package shm

import (
	"path/filepath"
	"strconv"
	"strings"
)

// Mount is one line of /proc/mounts.
type Mount struct {
	Point, FSType, Options string
}

// Option returns the value of mount option name ("size" for "size=1g") and
// whether it is there.
func (m Mount) Option(name string) (string, bool) {
	for o := range strings.SplitSeq(m.Options, ",") {
		if v, ok := strings.CutPrefix(o, name+"="); ok {
			return v, true
		}
	}
	return "", false
}

// ParseMounts reads the text of /proc/mounts ("device mountpoint type
// options dump pass", mount points with octal escapes such as \040 for a
// space). Short lines are skipped.
func ParseMounts(s string) []Mount {
	var out []Mount
	for line := range strings.SplitSeq(s, "\n") {
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		out = append(out, Mount{Point: unescapeMount(f[1]), FSType: f[2], Options: f[3]})
	}
	return out
}

// MountOf returns the mount holding path (absolute, symlinks resolved): the
// longest mount point at or above it, the last listed on a tie (a later
// mount hides an earlier one).
func MountOf(mounts []Mount, path string) (Mount, bool) {
	var best Mount
	found := false
	for _, m := range mounts {
		if within(path, m.Point) && (!found || len(m.Point) >= len(best.Point)) {
			best, found = m, true
		}
	}
	return best, found
}

// DirMount returns the mount holding directory dir, which may be relative
// or reached through symlinks: MountOf of dir resolved as far as it can be.
func DirMount(mounts []Mount, dir string) (Mount, bool) {
	return MountOf(mounts, absDir(dir))
}

// within reports whether path is mount point mp or below it.
func within(path, mp string) bool {
	if mp == "/" || path == mp {
		return true
	}
	return strings.HasPrefix(path, mp+"/")
}

// unescapeMount undoes the octal escapes (\040 for a space) of /proc/mounts.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// absDir makes dir absolute with symlinks resolved, as far as it can.
func absDir(dir string) string {
	if d, err := filepath.EvalSymlinks(dir); err == nil {
		dir = d
	}
	if d, err := filepath.Abs(dir); err == nil {
		dir = d
	}
	return dir
}
