package shm

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rshm/rshm/internal/testchild"
)

func TestStale(t *testing.T) {
	if !isLinux() {
		t.Skip("dead-creator detection needs Linux")
	}
	dir := t.TempDir()
	cfg := Config{Dir: dir}

	// A child creates a region and dies by SIGKILL, leaving it behind.
	child := testchild.Start(t, "create", dir)
	dead := strings.TrimSpace(child.Line(t, ""))
	if err := child.Kill(); err != nil {
		t.Fatal(err)
	}
	child.Wait()

	// A live owner: this process.
	live := newRegion(t, cfg, 4096)
	// Our pid, but a start time that is not ours: the pid was reused.
	reused := newRegion(t, cfg, 4096)
	binary.LittleEndian.PutUint64(reused.Bytes()[offCreatorStart:], 1)
	// Creators in another PID namespace (pid 1 is alive here, and would
	// look like ours): old ones are stale, young ones may be mid-handshake.
	foreignOld := newRegion(t, cfg, 4096)
	foreignYoung := newRegion(t, cfg, 4096)
	for _, r := range []*Region{foreignOld, foreignYoung} {
		binary.LittleEndian.PutUint32(r.Bytes()[offCreatorPID:], 1)
		binary.LittleEndian.PutUint64(r.Bytes()[offCreatorNS:], pidNamespace()+1)
	}
	// Garbage headers, one old and one young.
	old := filepath.Join(dir, "rshm-old")
	young := filepath.Join(dir, "rshm-young")
	other := filepath.Join(dir, "other-file")
	for _, p := range []string{old, young, other} {
		if err := os.WriteFile(p, []byte("junk"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	past := time.Now().Add(-2 * UnreadableGrace)
	for _, p := range []string{old, other, foreignOld.Path()} {
		if err := os.Chtimes(p, past, past); err != nil {
			t.Fatal(err)
		}
	}

	list, err := Stale(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]StaleReason{}
	for _, s := range list {
		got[s.Name] = s.Reason
	}
	want := map[string]StaleReason{
		dead:              StaleDead,
		reused.Name():     StaleReused,
		"rshm-old":        StaleUnreadable,
		foreignOld.Name(): StaleForeign,
	}
	for name, reason := range want {
		if got[name] != reason {
			t.Errorf("Stale: %s reason %v; want %v", name, got[name], reason)
		}
	}
	if len(got) != len(want) {
		t.Errorf("Stale found %v; want exactly %v", got, want)
	}

	removed, err := RemoveStale(dir)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(removed)
	wantRemoved := []string{dead, reused.Name(), "rshm-old", foreignOld.Name()}
	slices.Sort(wantRemoved)
	if !slices.Equal(removed, wantRemoved) {
		t.Errorf("RemoveStale removed %v; want %v", removed, wantRemoved)
	}
	for _, p := range []string{live.Path(), young, other, foreignYoung.Path()} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("RemoveStale touched %s: %v", p, err)
		}
	}
	for _, name := range wantRemoved {
		if _, err := os.Stat(filepath.Join(dir, name)); !os.IsNotExist(err) {
			t.Errorf("%s still there: %v", name, err)
		}
	}
	if list, err := Stale(dir); err != nil || len(list) != 0 {
		t.Errorf("Stale after RemoveStale = %v, %v; want nothing", list, err)
	}
}

func TestStaleReasonString(t *testing.T) {
	tests := []struct {
		r    StaleReason
		want string
	}{
		{StaleDead, "creator dead"},
		{StaleReused, "creator pid reused"},
		{StaleUnreadable, "header unreadable"},
		{0, "StaleReason(0)"},
		{200, "StaleReason(200)"},
	}
	for _, tt := range tests {
		if got := tt.r.String(); got != tt.want {
			t.Errorf("StaleReason(%d).String() = %q; want %q", tt.r, got, tt.want)
		}
	}
}

func TestStaleMissingDir(t *testing.T) {
	if _, err := Stale(filepath.Join(t.TempDir(), "nope")); !os.IsNotExist(err) && err == nil {
		t.Errorf("Stale(missing) = %v; want an error", err)
	}
}
