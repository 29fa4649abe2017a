package rsocket

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestErrorData: Error Data sent in an ERROR is valid UTF-8 and at most
// max bytes, cut at a rune boundary (never inside a sequence).
func TestErrorData(t *testing.T) {
	tests := []struct {
		name, msg string
		max       int
		want      string
	}{
		{"fits", "hello", 10, "hello"},
		{"ascii cut", "hello world", 5, "hello"},
		{"cut inside 2-byte rune", "aé", 2, "a"},
		{"cut after 2-byte rune", "aéb", 3, "aé"},
		{"cut inside 3-byte rune", "ab€", 4, "ab"},
		{"cut inside 4-byte rune", "a😀", 4, "a"},
		{"cut at 4-byte rune end", "a😀b", 5, "a😀"},
		{"only a cut rune", "😀", 3, ""},
		{"invalid byte replaced", "bad\xffmsg", 20, "bad\uFFFDmsg"},
		{"truncated sequence replaced", "x\xe2\x82", 20, "x\uFFFD"},
		{"invalid run replaced once, then cut", "\xff\xffab", 4, "\uFFFDa"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := errorData(tc.msg, tc.max)
			if got != tc.want {
				t.Errorf("errorData(%q, %d) = %q, want %q", tc.msg, tc.max, got, tc.want)
			}
			if !utf8.ValidString(got) || len(got) > tc.max {
				t.Errorf("errorData(%q, %d) = %q: invalid UTF-8 or longer than %d", tc.msg, tc.max, got, tc.max)
			}
			if valid := strings.ToValidUTF8(tc.msg, "\uFFFD"); !strings.HasPrefix(valid, got) || len(valid)-len(got) > 0 && len(got) < tc.max-3 {
				t.Errorf("errorData(%q, %d) = %q: not the longest valid prefix", tc.msg, tc.max, got)
			}
		})
	}
	if n := testing.AllocsPerRun(100, func() { _ = errorData("valid message", 100) }); n != 0 {
		t.Errorf("valid message: %v allocs, want 0", n)
	}
}
