package cli

import (
	"errors"
	"testing"
)

func TestParseAddr(t *testing.T) {
	tests := []struct {
		in, want string
		err      bool
	}{
		{"tcp://127.0.0.1:7878", "127.0.0.1:7878", false},
		{"127.0.0.1:7878", "127.0.0.1:7878", false},
		{":0", "127.0.0.1:0", false},
		{"tcp://:9000", "127.0.0.1:9000", false},
		{"tcp://[::1]:7878", "[::1]:7878", false},
		{"localhost:1", "localhost:1", false},
		{"shm://rshm-x", "", true},
		{"ws://127.0.0.1:80", "", true},
		{"127.0.0.1", "", true},
		{"tcp://127.0.0.1:", "", true},
		{"", "", true},
	}
	for i, tt := range tests {
		got, err := ParseAddr(tt.in)
		if tt.err {
			if !errors.Is(err, ErrBadAddr) {
				t.Errorf("%d: ParseAddr(%q) error = %v; want ErrBadAddr", i, tt.in, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%d: ParseAddr(%q) = %q, %v; want %q", i, tt.in, got, err, tt.want)
		}
	}
}
