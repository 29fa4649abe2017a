package shm

import (
	"path/filepath"
	"strconv"
	"strings"
)

// hugeAllowed decides from the text of /proc/mounts and of
// /sys/kernel/mm/transparent_hugepage/shmem_enabled whether files under dir
// (absolute, symlinks resolved) can be backed by transparent huge pages.
// The kernel's shmem_enabled "deny" and "force" override every tmpfs mount;
// otherwise the tmpfs option huge=advise, within_size or always allows it
// and huge=never, or no huge= option at all, does not.
func hugeAllowed(mounts, shmemEnabled, dir string) HugeStatus {
	switch selected(shmemEnabled) {
	case "deny":
		return HugeStatus{Reason: "shmem_enabled is deny"}
	case "force":
		return HugeStatus{Enabled: true, Reason: "shmem_enabled is force"}
	}
	var best, fsType, opts string
	for _, line := range strings.Split(mounts, "\n") {
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		mp := unescapeMount(f[1])
		// The last matching line wins: a later mount hides an earlier one.
		if within(dir, mp) && len(mp) >= len(best) {
			best, fsType, opts = mp, f[2], f[3]
		}
	}
	if best == "" {
		return HugeStatus{Reason: "no mount found for " + dir}
	}
	if fsType != "tmpfs" {
		return HugeStatus{Reason: best + " is " + fsType + ", not tmpfs"}
	}
	for _, o := range strings.Split(opts, ",") {
		if v, ok := strings.CutPrefix(o, "huge="); ok {
			switch v {
			case "always", "within_size", "advise":
				return HugeStatus{Enabled: true, Reason: "tmpfs " + best + " mounted huge=" + v}
			}
			return HugeStatus{Reason: "tmpfs " + best + " mounted huge=" + v}
		}
	}
	return HugeStatus{Reason: "tmpfs " + best + " mounted without huge= (never)"}
}

// selected returns the bracketed word of a sysfs choice list such as
// "always within_size advise [never] deny force".
func selected(s string) string {
	i := strings.IndexByte(s, '[')
	j := strings.IndexByte(s, ']')
	if i < 0 || j < i {
		return ""
	}
	return s[i+1 : j]
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
