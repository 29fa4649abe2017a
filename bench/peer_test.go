package bench

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/rshm/rshm/affinity"
	"github.com/rshm/rshm/internal/testchild"
	"github.com/rshm/rshm/rsocket/rsockettest"
)

// The peer process is this test binary, run as a testchild in one of
// childRoles with two arguments: the mapping's file and the CPU to pin to.
// envProfile, set by the user, makes each peer write a CPU profile.
const envProfile = "RSHM_BENCH_PEER_CPUPROFILE"

// Control block at the start of every benchmark mapping. Each word sits on
// its own 128-byte line so the words do not share cache lines with each
// other or with the rings that follow at ctlSize.
//
//	0     ready     peer -> parent: the peer has mapped and pinned
//	128   stop      parent -> peer: leave the loop and exit
//	256   ping      the limit benchmark's bouncing word
//	384   wakeA     futex word, parent -> peer
//	512   wakeB     futex word, peer -> parent
//	640   consumed  peer -> parent: records consumed so far (stream)
//	4096  rings...
const (
	offReady    = 0
	offStop     = offReady + 128
	offPing     = offStop + 128
	offWakeA    = offPing + 128
	offWakeB    = offWakeA + 128
	offConsumed = offWakeB + 128
	ctlSize     = 4096
)

// mapping is a file in /dev/shm mapped shared by both processes.
type mapping struct {
	mem  []byte
	path string
}

func word(mem []byte, off int) *uint64 { return (*uint64)(unsafe.Pointer(&mem[off])) }

func (m *mapping) word(off int) *uint64 { return word(m.mem, off) }

// futexWord is a 32-bit futex word at off.
func (m *mapping) futexWord(off int) *uint32 { return (*uint32)(unsafe.Pointer(&m.mem[off])) }

func createMapping(size int) (*mapping, error) {
	var r [16]byte
	rand.Read(r[:])
	path := "/dev/shm/rshm-bench-" + hex.EncodeToString(r[:])
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	if err := unix.Ftruncate(fd, int64(size)); err != nil {
		unix.Unlink(path)
		return nil, err
	}
	mem, err := unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		unix.Unlink(path)
		return nil, err
	}
	return &mapping{mem: mem, path: path}, nil
}

func openMapping(path string) (*mapping, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, err
	}
	mem, err := unix.Mmap(fd, 0, int(st.Size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return nil, err
	}
	return &mapping{mem: mem, path: path}, nil
}

// peer is a running peer process sharing a mapping with the benchmark.
type peer struct {
	*mapping
	*testchild.Child
}

// startPeer runs the test binary as a child in the given role, pinned to
// cpuB, and waits until it has mapped the region; the file is then
// unlinked, so nothing is left in /dev/shm whatever happens next.
func startPeer(b *testing.B, role string, size int) *peer {
	b.Helper()
	return startPeerWith(b, role, size, nil)
}

// startPeerWith is startPeer with a hook that lays out the mapping (after
// the control block) before the peer starts.
func startPeerWith(b *testing.B, role string, size int, setup func(mem []byte) error) *peer {
	b.Helper()
	m, err := createMapping(ctlSize + size)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { unix.Unlink(m.path) }) // if the peer never got ready
	if setup != nil {
		if err := setup(m.mem); err != nil {
			b.Fatal(err)
		}
	}
	p := &peer{mapping: m, Child: testchild.Start(b, role, m.path, strconv.Itoa(cpuB))}
	b.Cleanup(p.stop) // before testchild's: ask, then kill
	rsockettest.Eventually(b, 10*time.Second, "peer "+role+" to be ready", func() bool {
		select {
		case <-p.Exited():
			b.Fatalf("peer %s exited before it was ready: %v", role, p.Wait())
		default:
		}
		return atomic.LoadUint64(m.word(offReady)) != 0
	})
	unix.Unlink(m.path)
	return p
}

// stop asks the peer to exit, wakes it if it is parked, and reaps it.
func (p *peer) stop() {
	atomic.StoreUint64(p.word(offStop), 1)
	for i := 0; i < 200; i++ {
		futexWake(p.futexWord(offWakeA))
		select {
		case <-p.Exited():
			unix.Munmap(p.mem)
			return
		case <-time.After(5 * time.Millisecond):
		}
	}
	p.Kill()
	p.Wait()
	unix.Munmap(p.mem)
}

// runChild is the peer process's main; args are the mapping's file and the
// CPU to pin to (negative: none).
func runChild(role string, args []string) int {
	if len(args) != 2 {
		fmt.Fprintf(os.Stderr, "bench peer: want a file and a CPU, got %q\n", args)
		return 2
	}
	m, err := openMapping(args[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench peer:", err)
		return 2
	}
	if cpu, err := strconv.Atoi(args[1]); err == nil && cpu >= 0 {
		if _, err := affinity.PinProcess(cpu); err != nil {
			fmt.Fprintln(os.Stderr, "bench peer: pin:", err)
		} else {
			runtime.GOMAXPROCS(1)
		}
	}
	fn := childRoles[role]
	if path := os.Getenv(envProfile); path != "" {
		// RSHM_BENCH_PEER_CPUPROFILE=FILE profiles the peer process,
		// each peer overwriting FILE: use with -bench matching one case.
		if f, err := os.Create(path); err == nil {
			if pprof.StartCPUProfile(f) == nil {
				defer pprof.StopCPUProfile()
			}
		}
	}
	atomic.StoreUint64(m.word(offReady), 1)
	if err := fn(m); err != nil {
		fmt.Fprintln(os.Stderr, "bench peer:", role+":", err)
		return 1
	}
	return 0
}

// childRoles maps a role name to the peer loop that plays it. Each loop
// returns when the parent sets stop.
var childRoles = map[string]func(m *mapping) error{}

func stopped(m *mapping) bool { return atomic.LoadUint64(m.word(offStop)) != 0 }

// futexWait parks while *addr == val, for at most timeout. Shared (not
// private) futexes, since the word lives in a mapping of two processes.
func futexWait(addr *uint32, val uint32, timeout time.Duration) {
	ts := unix.NsecToTimespec(int64(timeout))
	unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), futexWaitOp, uintptr(val),
		uintptr(unsafe.Pointer(&ts)), 0, 0)
}

func futexWake(addr *uint32) {
	unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), futexWakeOp, 1, 0, 0, 0)
}

// futex(2) operations, shared (no FUTEX_PRIVATE_FLAG).
const (
	futexWaitOp = 0
	futexWakeOp = 1
)
