package cli

import (
	"errors"
	"testing"

	"github.com/rshm/rshm"
)

func TestParseAddr(t *testing.T) {
	tests := []struct {
		in, want string
		mode     rshm.Transport
		err      bool
	}{
		{"tcp://127.0.0.1:7878", "127.0.0.1:7878", rshm.TCPOnly, false},
		{"127.0.0.1:7878", "127.0.0.1:7878", rshm.Auto, false},
		{":0", "127.0.0.1:0", rshm.Auto, false},
		{"tcp://:9000", "127.0.0.1:9000", rshm.TCPOnly, false},
		{"tcp://[::1]:7878", "[::1]:7878", rshm.TCPOnly, false},
		{"localhost:1", "localhost:1", rshm.Auto, false},
		{"shm://:7878", "127.0.0.1:7878", rshm.SHMOnly, false},
		{"shm://rshm-x", "", 0, true},
		{"ws://127.0.0.1:80", "", 0, true},
		{"127.0.0.1", "", 0, true},
		{"tcp://127.0.0.1:", "", 0, true},
		{"", "", 0, true},
	}
	for i, tt := range tests {
		got, mode, err := ParseAddr(tt.in)
		if tt.err {
			if !errors.Is(err, ErrBadAddr) {
				t.Errorf("%d: ParseAddr(%q) error = %v; want ErrBadAddr", i, tt.in, err)
			}
			continue
		}
		if err != nil || got != tt.want || mode != tt.mode {
			t.Errorf("%d: ParseAddr(%q) = %q, %v, %v; want %q, %v", i, tt.in, got, mode, err, tt.want, tt.mode)
		}
		if back, m, err := ParseAddr(URL(got, mode)); err != nil || back != got || m != mode {
			t.Errorf("%d: ParseAddr(URL(%q, %v)) = %q, %v, %v", i, got, mode, back, m, err)
		}
	}
}
