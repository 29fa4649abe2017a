package shm

import (
	"strings"
)

// hugeAllowed decides from the text of /proc/mounts and of
// /sys/kernel/mm/transparent_hugepage/shmem_enabled whether files under dir
// can be backed by transparent huge pages.
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
	m, ok := DirMount(ParseMounts(mounts), dir)
	if !ok {
		return HugeStatus{Reason: "no mount found for " + dir}
	}
	if m.FSType != "tmpfs" {
		return HugeStatus{Reason: m.Point + " is " + m.FSType + ", not tmpfs"}
	}
	if v, ok := m.Option("huge"); ok {
		switch v {
		case "always", "within_size", "advise":
			return HugeStatus{Enabled: true, Reason: "tmpfs " + m.Point + " mounted huge=" + v}
		}
		return HugeStatus{Reason: "tmpfs " + m.Point + " mounted huge=" + v}
	}
	return HugeStatus{Reason: "tmpfs " + m.Point + " mounted without huge= (never)"}
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
