package bench

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rshm/rshm/ring"
)

func init() {
	childRoles["idle-block"] = func(m *mapping) error { return childIdle(m, "block") }
	childRoles["idle-backoff"] = func(m *mapping) error { return childIdle(m, "backoff") }
}

// benchIdle measures what a consumer with nothing to read costs: the peer
// waits on an empty ring with the given strategy while this side sleeps, and
// the peer's CPU time (utime+stime from /proc) over the interval is reported
// as a percentage of one CPU.
func benchIdle(b *testing.B, strategy string) {
	p := startPeerWith(b, "idle-"+strategy, 0, nil)
	pid := p.Pid()
	time.Sleep(50 * time.Millisecond) // past the spin phase of Backoff
	c0, err := cpuTime(pid)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	for b.Loop() {
		time.Sleep(20 * time.Millisecond)
	}
	c1, err := cpuTime(pid)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(100*float64(c1-c0)/float64(time.Since(start)), "cpu-%")
}

// childIdle waits on an empty ring (nobody writes to it) until stopped.
func childIdle(m *mapping, strategy string) error {
	mem := ring.AlignedMem(ring.Size(1 << 12))
	in, err := ring.Init(mem, 1<<12)
	if err != nil {
		return err
	}
	var s ring.Strategy = ring.Block{Ring: in}
	if strategy == "backoff" {
		s = &ring.Backoff{}
	}
	onRec := func([]byte) bool { return true }
	for !stopped(m) {
		n, err := in.Read(onRec)
		if err != nil {
			return err
		}
		s.Idle(n)
	}
	return nil
}

// cpuTime returns the user+system CPU time of process pid.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the parenthesized command name; utime and stime are the
	// 14th and 15th fields of the line, in clock ticks (USER_HZ = 100).
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	k, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bad /proc/%d/stat", pid)
	}
	return time.Duration(u+k) * (time.Second / 100), nil
}
