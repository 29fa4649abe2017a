package doctor

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rshm/rshm/internal/testchild"
	"github.com/rshm/rshm/shm"
)

// TestMain lets deadRegion run the test binary as a child (testchild) in
// role "region": it creates a region in the directory its argument names,
// prints the region's name and sleeps until killed.
func TestMain(m *testing.M) {
	testchild.Main(map[string]func(args []string) int{"region": func(args []string) int {
		r, err := shm.Create(shm.Config{Dir: args[0]}, 4096)
		if err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			return 1
		}
		fmt.Println(r.Name())
		time.Sleep(time.Minute)
		return 1
	}})
	os.Exit(m.Run())
}

// deadRegion makes a child process create a region in dir, kills it with
// SIGKILL and returns the name of the region it left behind.
func deadRegion(t *testing.T, dir string) string {
	t.Helper()
	child := testchild.Start(t, "region", dir)
	name := strings.TrimSpace(child.Line(t, ""))
	if err := child.Kill(); err != nil {
		t.Fatal(err)
	}
	child.Wait()
	return name
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
