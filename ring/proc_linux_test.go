package ring

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rshm/rshm/internal/testchild"
	"golang.org/x/sys/unix"
)

// procCap is the capacity of each ring the two processes share.
const procCap = 1 << 16

// The two-process tests run this test binary as the peer
// (testchild.Start), in role "echo" or "pong" with two arguments: the
// shared file and the number of records.
func TestMain(m *testing.M) {
	child := func(mode string) func(args []string) int {
		return func(args []string) int {
			if err := runChild(mode, args); err != nil {
				fmt.Fprintln(os.Stderr, "child:", err)
				return 1
			}
			return 0
		}
	}
	testchild.Main(map[string]func(args []string) int{"echo": child("echo"), "pong": child("pong")})
	os.Exit(m.Run())
}

// sharedRings maps the file at path and returns its two rings: a carries
// parent to child, b child to parent.
func sharedRings(path string, create bool) (a, b *Buffer, unmap func(), err error) {
	size := 2 * Size(procCap)
	flags := unix.O_RDWR | unix.O_CLOEXEC
	if create {
		flags |= unix.O_CREAT | unix.O_EXCL
	}
	fd, err := unix.Open(path, flags, 0o600)
	if err != nil {
		return nil, nil, nil, err
	}
	defer unix.Close(fd)
	if create {
		if err := unix.Ftruncate(fd, int64(size)); err != nil {
			return nil, nil, nil, err
		}
	}
	mem, err := unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, nil, nil, err
	}
	unmap = func() { unix.Munmap(mem) }
	ma, mb := mem[:Size(procCap)], mem[Size(procCap):]
	if create {
		a, err = Init(ma, procCap)
		if err == nil {
			b, err = Init(mb, procCap)
		}
	} else {
		a, err = Attach(ma)
		if err == nil {
			b, err = Attach(mb)
		}
	}
	if err != nil {
		unmap()
		return nil, nil, nil, err
	}
	return a, b, unmap, nil
}

// startChild creates the shared file and starts the peer. Cleanup kills
// the peer if it still runs and removes the file, whatever happened. wait
// waits for the peer to exit, fails the test if it failed, and returns the
// line it printed.
func startChild(t *testing.T, mode string, n int) (a, b *Buffer, wait func() string) {
	t.Helper()
	if _, err := os.Stat("/dev/shm"); err != nil {
		t.Skip("no /dev/shm")
	}
	path := fmt.Sprintf("/dev/shm/rshm-test-%016x", rand.Uint64())
	a, b, unmap, err := sharedRings(path, true)
	t.Cleanup(func() { os.Remove(path) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(unmap)
	child := testchild.Start(t, mode, path, strconv.Itoa(n))
	return a, b, func() string {
		if err := child.Wait(); err != nil {
			t.Fatalf("child: %v", err)
		}
		return child.Line(t, "")
	}
}

// runChild plays the child's side: args are the shared file and the
// number of records.
func runChild(mode string, args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("want a file and a count, got %q", args)
	}
	n, err := strconv.Atoi(args[1])
	if err != nil {
		return err
	}
	a, b, unmap, err := sharedRings(args[0], false)
	if err != nil {
		return err
	}
	defer unmap()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var rs, ws Strategy = &Backoff{}, &Backoff{}
	if mode == "pong" {
		rs, ws = Block{Ring: a}, Block{Ring: b, Space: true}
	}
	max := a.MaxRecord()
	var seq uint64
	var cerr error
	for {
		_, err := a.ReadWait(ctx, rs, func(rec []byte) bool {
			if msg := checkRecord(rec, seq, max); msg != "" {
				cerr = fmt.Errorf("child: %s", msg)
				return false
			}
			seq++
			b.PrefetchAhead(1024, len(rec)) // small records: free lines zeroed where the CPU has CLZERO
			buf, err := b.ClaimWait(ctx, ws, len(rec))
			if err != nil {
				cerr = err
				return false
			}
			copy(buf, rec)
			b.Commit(len(rec))
			return true
		})
		if cerr != nil {
			return cerr
		}
		if err == ErrClosed {
			break
		}
		if err != nil {
			return err
		}
	}
	b.CloseWrite()
	if seq != uint64(n) {
		return fmt.Errorf("child read %d records; want %d", seq, n)
	}
	fmt.Printf("parks=%d timeouts=%d late=%d wakes=%d\n", a.cStats.Parks, a.cStats.Timeouts, a.cStats.Late, a.cStats.Wakes)
	return nil
}

// The parent streams checksummed records of random sizes to the child
// process, which checks them and echoes them back; the parent checks the
// echo. Both directions cross the process boundary through /dev/shm.
func TestTwoProcessEcho(t *testing.T) {
	n := stressCount(300_000)
	a, b, wait := startChild(t, "echo", n)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	max := a.MaxRecord()
	go func() {
		s := &Backoff{}
		for seq := uint64(0); seq < uint64(n); seq++ {
			l := recordLen(seq, max)
			buf, err := a.ClaimWait(ctx, s, l)
			if err != nil {
				t.Errorf("record %d: %v", seq, err)
				return
			}
			fillRecord(buf, seq)
			a.Commit(l)
		}
		a.CloseWrite()
	}()
	var seq uint64
	s := &Backoff{}
	for {
		_, err := b.ReadWait(ctx, s, func(rec []byte) bool {
			if msg := checkRecord(rec, seq, max); msg != "" {
				t.Error("echo:", msg)
				return false
			}
			seq++
			return true
		})
		if err == ErrClosed {
			break
		}
		if err != nil || t.Failed() {
			t.Fatalf("after %d records: %v", seq, err)
		}
	}
	if seq != uint64(n) {
		t.Errorf("read %d echoes; want %d", seq, n)
	}
	t.Logf("child: %s", strings.TrimSpace(wait()))
}

// Ping-pong where both processes park on the futex words between messages:
// a lost wake-up shows as a park that timed out although the data was
// there (late), and would cost DefaultParkTimeout each.
func TestTwoProcessBlockNoLostWakeup(t *testing.T) {
	n := 20_000
	if testing.Short() {
		n = 2_000
	}
	a, b, wait := startChild(t, "pong", n)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	max := a.MaxRecord()
	s := Block{Ring: b}
	start := time.Now()
	for seq := uint64(0); seq < uint64(n); seq++ {
		l := recordLen(seq, max)
		buf, err := a.Claim(l)
		if err != nil {
			t.Fatalf("record %d: %v", seq, err)
		}
		fillRecord(buf, seq)
		a.Commit(l)
		k, err := b.ReadWait(ctx, s, func(rec []byte) bool {
			if msg := checkRecord(rec, seq, max); msg != "" {
				t.Error("pong:", msg)
			}
			return true
		})
		if k != 1 || err != nil {
			t.Fatalf("pong %d: %d records, %v", seq, k, err)
		}
	}
	rtt := time.Since(start) / time.Duration(n)
	a.CloseWrite()
	out := strings.TrimSpace(wait())
	var parks, timeouts, late, wakes int
	if _, err := fmt.Sscanf(out, "parks=%d timeouts=%d late=%d wakes=%d", &parks, &timeouts, &late, &wakes); err != nil {
		t.Fatalf("child output %q: %v", out, err)
	}
	if late != 0 || b.cStats.Late != 0 {
		t.Errorf("lost wake-ups: child %d, parent %d", late, b.cStats.Late)
	}
	if b.cStats.Parks == 0 || parks == 0 {
		t.Errorf("parks: parent %d, child %d; the test did not exercise parking", b.cStats.Parks, parks)
	}
	t.Logf("%d round trips, %v each; parent parks %d timeouts %d wakes %d; child %s",
		n, rtt, b.cStats.Parks, b.cStats.Timeouts, a.pStats.Wakes, out)
}
