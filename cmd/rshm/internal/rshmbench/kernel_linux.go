package rshmbench

import (
	"os"
	"strings"
)

// kernel returns the running kernel's release.
func kernel() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "linux (unknown release)"
	}
	return "linux " + strings.TrimSpace(string(b))
}
