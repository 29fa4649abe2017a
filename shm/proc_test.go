package shm

import (
	"os"
	"testing"
)

func TestParseStartTime(t *testing.T) {
	tests := []struct {
		stat string
		want uint64
		ok   bool
	}{
		{"7293 (cat) R 7220 7220 4778 0 -1 4194304 97 0 0 0 0 0 0 0 20 0 1 0 22522 3133440 356", 22522, true},
		{"1 (a) (b) c) S 0 1 1 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 99 1 1", 99, true},
		{"1 (x y) S 0 1 1 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 7", 7, true},
		{"1 (x) S 0 1 1 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0", 0, false},
		{"1 x S 0 1 1 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 7", 0, false},
		{"1 (x) S 0 1 1 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 -7", 0, false},
		{"", 0, false},
	}
	for i, tt := range tests {
		got, err := parseStartTime([]byte(tt.stat))
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("%d: parseStartTime(%q) = %d, %v; want %d, ok=%v", i, tt.stat, got, err, tt.want, tt.ok)
		}
	}
}

func TestProcStartSelf(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	a, err := procStart(os.Getpid())
	if err != nil || a == 0 {
		t.Fatalf("procStart(self) = %d, %v; want a positive start time", a, err)
	}
	b, _ := procStart(os.Getpid())
	if a != b {
		t.Errorf("start time changed: %d then %d", a, b)
	}
	for range 2 { // the first call may read /proc, the second the cache
		if c, err := selfStart(); err != nil || c != a {
			t.Errorf("selfStart() = %d, %v; want %d", c, err, a)
		}
	}
	if !alive(os.Getpid()) {
		t.Error("alive(self) = false")
	}
}

func FuzzParseStartTime(f *testing.F) {
	f.Add([]byte("7293 (cat) R 7220 7220 4778 0 -1 4194304 97 0 0 0 0 0 0 0 20 0 1 0 22522 3133440 356"))
	f.Add([]byte("1 ()) S"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = parseStartTime(b)
	})
}
