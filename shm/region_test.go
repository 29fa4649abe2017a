package shm

import (
	"context"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rshm/rshm/internal/testchild"
)

// newRegion creates a region under a fresh temporary directory and cleans
// it up at the end of the test.
func newRegion(t *testing.T, cfg Config, size int) *Region {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	r, err := Create(cfg, size)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.Unlink()
		r.Close()
	})
	return r
}

func TestCreateOpen(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Dir: dir}
	r := newRegion(t, cfg, 10000)

	if !regexp.MustCompile(`^rshm-[0-9a-f]{32}$`).MatchString(r.Name()) {
		t.Errorf("Name() = %q; want rshm- and 32 hex digits", r.Name())
	}
	fi, err := os.Stat(filepath.Join(dir, r.Name()))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v; want -rw-------", fi.Mode())
	}
	page := os.Getpagesize()
	want := HeaderSize + (10000+page-1)/page*page
	if r.Size() != want || len(r.Bytes()) != want || fi.Size() != int64(want) || len(r.Data()) != want-HeaderSize {
		t.Errorf("sizes: Size %d, Bytes %d, file %d, Data %d; want %d total", r.Size(), len(r.Bytes()), fi.Size(), len(r.Data()), want)
	}
	if pid, start := r.Creator(); pid != os.Getpid() || (start == 0 && isLinux()) {
		t.Errorf("Creator() = %d, %d; want our pid %d and a start time", pid, start, os.Getpid())
	}

	o, err := Open(cfg, r.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if o.Size() != r.Size() {
		t.Errorf("opener Size() = %d; want %d", o.Size(), r.Size())
	}
	copy(r.Data(), "hello")
	if got := string(o.Data()[:5]); got != "hello" {
		t.Errorf("opener sees %q; want hello", got)
	}

	if _, ok := r.Confirmed(); ok {
		t.Error("Confirmed before Confirm")
	}
	nonce := [NonceSize]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	if err := o.Confirm(nonce); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got, err := r.WaitConfirmed(ctx)
	if err != nil || got != nonce {
		t.Errorf("WaitConfirmed = %x, %v; want %x", got, err, nonce)
	}

	for i := 0; i < 2; i++ {
		if err := r.Unlink(); err != nil {
			t.Errorf("Unlink #%d: %v", i+1, err)
		}
	}
	if err := o.Unlink(); err != nil {
		t.Errorf("Unlink by the opener after the creator: %v", err)
	}
	if _, err := os.Stat(r.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("file still there after Unlink: %v", err)
	}
	// The mapping outlives the name.
	copy(r.Data(), "again")
	if got := string(o.Data()[:5]); got != "again" {
		t.Errorf("after Unlink opener sees %q; want again", got)
	}
	for i := 0; i < 2; i++ {
		if err := r.Close(); err != nil {
			t.Errorf("Close #%d: %v", i+1, err)
		}
	}
	if r.Bytes() != nil || r.Data() != nil {
		t.Error("Bytes or Data not nil after Close")
	}
	if err := r.Confirm(nonce); !errors.Is(err, ErrClosed) {
		t.Errorf("Confirm after Close = %v; want ErrClosed", err)
	}
	if _, err := r.WaitConfirmed(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("WaitConfirmed after Close = %v; want ErrClosed", err)
	}
}

func isLinux() bool { _, err := os.Stat("/proc/self/stat"); return err == nil }

func TestWaitConfirmedContext(t *testing.T) {
	r := newRegion(t, Config{}, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := r.WaitConfirmed(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitConfirmed = %v; want DeadlineExceeded", err)
	}
}

func TestOpenRejects(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Dir: dir}
	// write makes a file in dir with the header of a fresh region, changed.
	write := func(name string, mode os.FileMode, change func(b []byte) []byte) string {
		r := newRegion(t, Config{Dir: t.TempDir()}, 4096)
		b := change(append([]byte(nil), r.Bytes()...))
		if err := os.WriteFile(filepath.Join(dir, name), b, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(dir, name), mode); err != nil {
			t.Fatal(err)
		}
		return name
	}
	same := func(b []byte) []byte { return b }
	tests := []struct {
		name string
		want error
	}{
		{"", ErrBadName},
		{"rshm-", ErrBadName},
		{"other-1", ErrBadName},
		{"rshm-a/../../etc", ErrBadName},
		{"rshm-a\x00b", ErrBadName},
		{"rshm-" + strings.Repeat("a", 260), ErrBadName},
		{"rshm-missing", os.ErrNotExist},
		{write("rshm-good", 0o600, same), nil},
		{write("rshm-mode", 0o644, same), ErrPermission},
		{write("rshm-magic", 0o600, func(b []byte) []byte { b[0] = 'X'; return b }), ErrBadHeader},
		{write("rshm-version", 0o600, func(b []byte) []byte { b[offVersion] = 9; return b }), ErrVersion},
		{write("rshm-grown", 0o600, func(b []byte) []byte { return append(b, make([]byte, 4096)...) }), ErrSize},
		{write("rshm-short", 0o600, func(b []byte) []byte { return b[:HeaderSize/2] }), ErrSize},
		{write("rshm-odd", 0o600, func(b []byte) []byte { return b[:len(b)-1] }), ErrSize},
		{write("rshm-zero", 0o600, func(b []byte) []byte { return make([]byte, len(b)) }), ErrBadHeader},
	}
	if err := os.Symlink(filepath.Join(dir, "rshm-good"), filepath.Join(dir, "rshm-link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "rshm-dir"), 0o700); err != nil {
		t.Fatal(err)
	}
	tests = append(tests, struct {
		name string
		want error
	}{"rshm-link", nil}, struct {
		name string
		want error
	}{"rshm-dir", nil})
	for i, tt := range tests {
		r, err := Open(cfg, tt.name)
		if tt.want == nil && (tt.name == "rshm-link" || tt.name == "rshm-dir") {
			// A symlink or directory must fail, whatever the error.
			if err == nil {
				r.Close()
				t.Errorf("%d: Open(%q) succeeded; want an error", i, tt.name)
			}
			continue
		}
		if tt.want == nil {
			if err != nil {
				t.Errorf("%d: Open(%q) = %v; want success", i, tt.name, err)
			} else {
				r.Close()
			}
			continue
		}
		if !errors.Is(err, tt.want) {
			t.Errorf("%d: Open(%q) = %v; want %v", i, tt.name, err, tt.want)
		}
		var se *Error
		if !errors.As(err, &se) || se.Op != "open" || se.Name != tt.name {
			t.Errorf("%d: Open(%q) error %#v; want *Error{Op: open, Name: %q}", i, tt.name, err, tt.name)
		}
	}
}

func TestCreateFails(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "missing")
	if _, err := Create(Config{Dir: dir}, 4096); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Create in a missing dir = %v; want ErrNotExist", err)
	}
	dir = t.TempDir()
	for _, size := range []int{-1, MaxSize} {
		if _, err := Create(Config{Dir: dir}, size); !errors.Is(err, ErrSize) {
			t.Errorf("Create(%d) = %v; want ErrSize", size, err)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("failed Create left %d files", len(ents))
	}
}

func TestConfigOptions(t *testing.T) {
	for _, cfg := range []Config{{Lock: true}, {NoPopulate: true}, {HugePages: true}} {
		r := newRegion(t, cfg, 1<<16)
		r.Data()[len(r.Data())-1] = 1
		st := r.HugePages()
		if !cfg.HugePages && (st.Enabled || st.Reason != "not requested") {
			t.Errorf("%+v: HugePages() = %+v; want not requested", cfg, st)
		}
		if cfg.HugePages && st.Reason == "" {
			t.Errorf("%+v: HugePages() has no reason", cfg)
		}
		t.Logf("%+v: huge pages %+v", cfg, st)
	}
}

// TestDevShm uses the real /dev/shm, the default Dir.
func TestDevShm(t *testing.T) {
	if _, err := os.Stat(DefaultDir); err != nil {
		t.Skip("no /dev/shm")
	}
	if (&Config{}).dir() != DefaultDir {
		t.Fatalf("zero Config uses %q; want %s", (&Config{}).dir(), DefaultDir)
	}
	r := newRegion(t, Config{Dir: DefaultDir, HugePages: true}, 1<<20)
	if filepath.Dir(r.Path()) != DefaultDir {
		t.Errorf("Path() = %q; want it under %s", r.Path(), DefaultDir)
	}
	t.Logf("huge pages under /dev/shm: %+v", r.HugePages())
	o, err := Open(Config{}, r.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if err := o.Unlink(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(r.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s still there: %v", r.Path(), err)
	}
}

func TestConfirmAllocs(t *testing.T) {
	r := newRegion(t, Config{}, 0)
	var n [NonceSize]byte
	if a := testing.AllocsPerRun(100, func() {
		r.Confirm(n)
		r.Confirmed()
	}); a != 0 {
		t.Errorf("Confirm+Confirmed allocate %v times; want 0", a)
	}
}

// TestTwoProcesses has a second process open the region by name and
// confirm with a nonce the creator then sees.
func TestTwoProcesses(t *testing.T) {
	dir := t.TempDir()
	r := newRegion(t, Config{Dir: dir}, 4096)
	nonce := "00112233445566778899aabbccddeeff"
	child := testchild.Start(t, "confirm", dir, r.Name(), nonce)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	got, err := r.WaitConfirmed(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if h := hex.EncodeToString(got[:]); h != nonce {
		t.Errorf("nonce = %s; want %s", h, nonce)
	}
	if err := child.Wait(); err != nil {
		t.Errorf("child: %v", err)
	}
}
