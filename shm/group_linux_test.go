package shm

import (
	"errors"
	"os"
	"syscall"
	"testing"
)

// TestGroupShared: with Config.Group a region is created 0660 in the
// group, and a region of another owner opens when it is 0660 in the
// group; without Group, or in another group, it does not.
func TestGroupShared(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a region another owner")
	}
	const gid, otherUID = 54321, 4242
	cfg := Config{Dir: t.TempDir(), Group: "54321"}
	for _, named := range []bool{true, false} {
		var r *Region
		if named {
			r = newRegion(t, cfg, 4096)
		} else {
			d, err := PrepareDuplex(cfg, 4096)
			if err != nil {
				t.Skipf("no unnamed files here: %v", err)
			}
			t.Cleanup(func() { d.Region().Unlink(); d.Close() })
			if err := d.Region().Link(); err != nil {
				t.Fatal(err)
			}
			r = d.Region()
		}
		fi, err := os.Stat(r.Path())
		if err != nil {
			t.Fatal(err)
		}
		if st := fi.Sys().(*syscall.Stat_t); fi.Mode().Perm() != 0o660 || st.Gid != gid {
			t.Fatalf("named=%v: mode %v group %d; want -rw-rw---- and %d", named, fi.Mode(), st.Gid, gid)
		}
		// The peer's view: a region owned by someone else in our group.
		if err := os.Chown(r.Path(), otherUID, gid); err != nil {
			t.Fatal(err)
		}
		o, err := Open(cfg, r.Name())
		if err != nil {
			t.Fatalf("named=%v: Open of another owner's region in the group: %v", named, err)
		}
		o.Close()
		if _, err := Open(Config{Dir: cfg.Dir}, r.Name()); !errors.Is(err, ErrPermission) {
			t.Errorf("named=%v: Open without Group: %v, want ErrPermission", named, err)
		}
		if _, err := Open(Config{Dir: cfg.Dir, Group: "54322"}, r.Name()); !errors.Is(err, ErrPermission) {
			t.Errorf("named=%v: Open in another group: %v, want ErrPermission", named, err)
		}
	}
}
