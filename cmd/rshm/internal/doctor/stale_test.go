package doctor

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rshm/rshm/shm"
)

// childEnv makes a re-executed test binary create a region in the
// directory named by its value, print the region's name and sleep until
// killed, instead of running tests.
const childEnv = "RSHM_DOCTOR_TEST_CHILD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		r, err := shm.Create(shm.Config{Dir: dir}, 4096)
		if err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		fmt.Println(r.Name())
		time.Sleep(time.Minute)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// deadRegion makes a child process create a region in dir, kills it with
// SIGKILL and returns the name of the region it left behind.
func deadRegion(t *testing.T, dir string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("child did not report its region: %v", err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	return strings.TrimSpace(line)
}

func TestStaleClean(t *testing.T) {
	if !exists("/proc/self/stat") {
		t.Skip("dead-creator detection needs Linux /proc")
	}
	f := newFake(t)
	dead := deadRegion(t, f.shm)
	live, err := shm.Create(shm.Config{Dir: f.shm}, 4096)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { live.Close(); live.Unlink() })

	// Without --clean: reported, left in place.
	r := f.run()
	check(t, r, SectionStale, "stale", Warn, "1 region", "rshm doctor --clean")
	check(t, r, SectionStale, dead, Warn, "creator dead (pid ", "rshm doctor --clean")
	if _, ok := r.Item(SectionStale, live.Name()); ok {
		t.Errorf("live region %s reported stale", live.Name())
	}
	if len(r.Removed) != 0 {
		t.Errorf("Removed = %v without Clean", r.Removed)
	}
	if !exists(filepath.Join(f.shm, dead)) {
		t.Fatal("a run without Clean removed the stale region")
	}

	// With --clean: removed and listed; the live region stays.
	r, err = Run(Config{SysRoot: f.sys, ProcRoot: f.proc, ShmDir: f.shm, Allowed: f.allowed, Clean: true})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.Removed, []string{dead}) {
		t.Errorf("Removed = %v; want [%s]", r.Removed, dead)
	}
	check(t, r, SectionStale, "stale", OK, "removed 1 of 1")
	check(t, r, SectionStale, dead, OK, "removed: creator dead")
	if exists(filepath.Join(f.shm, dead)) {
		t.Error("Clean left the stale region in place")
	}
	if !exists(live.Path()) {
		t.Error("Clean removed the live region")
	}

	// Nothing left to report.
	r = f.run()
	check(t, r, SectionStale, "stale", OK, "none in "+f.shm)
}

func TestStaleMissingDir(t *testing.T) {
	f := newFake(t)
	f.shm = filepath.Join(f.shm, "nope")
	r := f.run()
	check(t, r, SectionStale, "stale", Info, "cannot list")
}
