package doctor

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/rshm/rshm/handshake"
	"github.com/rshm/rshm/ring"
	"github.com/rshm/rshm/shm"
)

// Region sizes the memory checks measure against: a duplex region of two
// rings of the default capacity, and of the largest capacity a server
// accepts by default.
var (
	defaultRegion = regionSize(handshake.DefaultRingSize)
	largestRegion = regionSize(handshake.DefaultMaxRingSize)
)

// regionSize is the file size of a duplex region with two rings of capacity
// bytes (shm.CreateDuplex: the header page, then each ring page aligned).
func regionSize(capacity int) uint64 {
	area := (ring.Size(capacity) + shm.RingAlignment - 1) / shm.RingAlignment * shm.RingAlignment
	return uint64(shm.HeaderSize + 2*area)
}

// capIPCLock is the bit of CAP_IPC_LOCK in /proc/PID/status CapEff.
const capIPCLock = 14

func (e *env) memorySection() Section {
	s := Section{Name: SectionMemory}
	mounts := shm.ParseMounts(e.readProc("mounts"))
	mnt, found := shm.DirMount(mounts, e.shmDir)
	s.Items = append(s.Items,
		e.shmMountItem(mnt, found),
		e.shmSpaceItem(),
		e.thpItem(),
		e.shmHugeItem(mnt, found),
		e.hugetlbItem(),
		e.memlockItem())
	return s
}

// selected returns the bracketed word of a sysfs choice list such as
// "always [madvise] never", or "" when there is none.
func selected(s string) string {
	j := strings.IndexByte(s, ']')
	if j < 0 {
		return ""
	}
	i := strings.LastIndexByte(s[:j], '[')
	if i < 0 {
		return ""
	}
	return s[i+1 : j]
}

func (e *env) shmMountItem(m shm.Mount, found bool) Item {
	it := Item{Name: "shm mount"}
	switch {
	case !found:
		it.Status, it.Value = Info, "no mount listed for "+e.shmDir+" in "+e.procPath("mounts")
	case m.FSType != "tmpfs":
		it.Status = Warn
		it.Value = fmt.Sprintf("%s is on %s (%s), not tmpfs", e.shmDir, m.FSType, m.Point)
		it.Note = "region pages on a disk file system are written back to the disk"
		it.Fix = "keep regions on a tmpfs: rshm.Handshake{SHM: shm.Config{Dir: \"/dev/shm\"}}, or\n" +
			"sudo mount -t tmpfs -o size=1g,huge=within_size,mode=1777 tmpfs " + e.shmDir
	default:
		it.Status = OK
		it.Value = fmt.Sprintf("tmpfs at %s (%s)", m.Point, m.Options)
	}
	return it
}

func (e *env) shmSpaceItem() Item {
	it := Item{Name: "shm space"}
	total, free, err := shmSpace(e.shmDir)
	if err != nil {
		it.Status, it.Value = Info, "unknown: "+err.Error()
		return it
	}
	it.Value = fmt.Sprintf("%s free of %s in %s; a default region takes %s", sizeString(free), sizeString(total), e.shmDir, sizeString(defaultRegion))
	if free < largestRegion {
		it.Status = Warn
		it.Note = fmt.Sprintf("a connection with %s rings needs %s: creating it would fail", sizeString(uint64(handshake.DefaultMaxRingSize)), sizeString(largestRegion))
		it.Fix = "sudo mount -o remount,size=1g " + e.shmDir + "   (or rshm doctor --clean to drop stale regions)"
		return it
	}
	it.Status = OK
	return it
}

func (e *env) thpItem() Item {
	it := Item{Name: "thp"}
	raw := e.readSys("kernel/mm/transparent_hugepage/enabled")
	v := selected(raw)
	if v == "" {
		it.Status, it.Value = Info, "no transparent huge pages in this kernel"
		return it
	}
	it.Value = v + " (anonymous memory: the Go heap)"
	switch v {
	case "always", "madvise":
		it.Status = OK
	default:
		it.Status = Info
		it.Note = "rings live in tmpfs and follow shmem_enabled and the mount's huge= option, not this setting"
		it.Fix = "echo madvise | sudo tee /sys/kernel/mm/transparent_hugepage/enabled"
	}
	return it
}

const hugeNote = "shm.Config.HugePages backs rings with 2 MiB pages: fewer TLB misses for rings of 2 MiB and more"

// shmHugeItem says whether regions under the shm dir can use transparent
// huge pages, by the rules of shm's HugePages: the kernel's shmem_enabled
// "deny" and "force" override every mount, otherwise the tmpfs huge= option
// decides.
func (e *env) shmHugeItem(m shm.Mount, found bool) Item {
	it := Item{Name: "shm huge pages", Note: hugeNote}
	remount := "sudo mount -o remount,huge=within_size " + e.shmDir
	switch shmem := selected(e.readSys("kernel/mm/transparent_hugepage/shmem_enabled")); shmem {
	case "deny":
		it.Status, it.Value = Info, "off: shmem_enabled is deny"
		it.Fix = "echo advise | sudo tee /sys/kernel/mm/transparent_hugepage/shmem_enabled"
		return it
	case "force":
		it.Status, it.Value = OK, "on: shmem_enabled is force"
		return it
	case "":
		it.Status, it.Value = Info, "off: no shmem_enabled (kernel without THP for tmpfs)"
		return it
	}
	if !found || m.FSType != "tmpfs" {
		it.Status, it.Value = Info, "off: "+e.shmDir+" is not a tmpfs"
		return it
	}
	huge, ok := m.Option("huge")
	switch {
	case !ok:
		it.Status, it.Value, it.Fix = Info, "off: "+m.Point+" mounted without huge= (never)", remount
	case huge == "always" || huge == "within_size" || huge == "advise":
		it.Status, it.Value = OK, "on: "+m.Point+" mounted huge="+huge
	default:
		it.Status, it.Value, it.Fix = Info, "off: "+m.Point+" mounted huge="+huge, remount
	}
	return it
}

// parseMeminfo reads "Key:   value [kB]" lines of /proc/meminfo into bytes
// (kB values) or counts (unitless ones). Malformed lines are skipped.
func parseMeminfo(s string) map[string]uint64 {
	out := map[string]uint64{}
	for line := range strings.SplitSeq(s, "\n") {
		k, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 || len(f) > 2 || (len(f) == 2 && f[1] != "kB") {
			continue
		}
		v, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			continue
		}
		if len(f) == 2 {
			if v > 1<<53 {
				continue
			}
			v <<= 10
		}
		out[strings.TrimSpace(k)] = v
	}
	return out
}

func (e *env) hugetlbItem() Item {
	it := Item{Name: "hugetlb", Status: Info}
	mi := parseMeminfo(e.readProc("meminfo"))
	size, ok := mi["Hugepagesize"]
	if !ok {
		it.Value = "no HugePages lines in meminfo"
		return it
	}
	total, free := mi["HugePages_Total"], mi["HugePages_Free"]
	it.Value = fmt.Sprintf("%d reserved, %d free, %s pages", total, free, sizeString(size))
	if total > 0 {
		it.Note = fmt.Sprintf("rshm maps tmpfs with transparent huge pages, not hugetlbfs: these %s are unused by it", sizeString(total*size))
	} else {
		it.Note = "rshm uses transparent huge pages on tmpfs, not hugetlbfs: nothing to reserve"
	}
	return it
}

// parseCapEff returns the CapEff mask of a /proc/PID/status text.
func parseCapEff(status string) (uint64, bool) {
	for line := range strings.SplitSeq(status, "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			c, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return c, err == nil
		}
	}
	return 0, false
}

func (e *env) memlockItem() Item {
	it := Item{Name: "memlock"}
	if c, ok := parseCapEff(e.readProc("self/status")); ok && c&(1<<capIPCLock) != 0 {
		it.Status, it.Value = OK, "no limit: CAP_IPC_LOCK"
		return it
	}
	cur, unlimited, err := memlockLimit()
	switch {
	case err != nil:
		it.Status, it.Value = Info, "unknown: "+err.Error()
	case unlimited:
		it.Status, it.Value = OK, "unlimited"
	case cur >= defaultRegion:
		it.Status = OK
		it.Value = fmt.Sprintf("%s: room to lock %d default regions (%s each) with shm.Config.Lock", sizeString(cur), cur/defaultRegion, sizeString(defaultRegion))
	default:
		it.Status = Warn
		it.Value = fmt.Sprintf("%s, below the %s a default region needs", sizeString(cur), sizeString(defaultRegion))
		it.Note = "shm.Config.Lock (mlock, so rings are never swapped out) fails under this limit"
		it.Fix = "ulimit -l unlimited   (systemd: LimitMEMLOCK=infinity; /etc/security/limits.conf: USER - memlock unlimited)"
	}
	return it
}

// sizeString writes n bytes in binary units: "512 B", "4 KiB", "1.5 MiB".
func sizeString(n uint64) string {
	const units = "KMGTPE"
	if n < 1024 {
		return strconv.FormatUint(n, 10) + " B"
	}
	v, i := float64(n)/1024, 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if v == float64(uint64(v)) {
		return fmt.Sprintf("%d %ciB", uint64(v), units[i])
	}
	return fmt.Sprintf("%.1f %ciB", v, units[i])
}
