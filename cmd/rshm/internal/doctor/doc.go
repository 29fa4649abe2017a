// Package doctor reads the machine and says what stands between the user
// and rshm's best numbers, with the fix for each finding.
//
// Run gathers a Report in five sections (CPU, Scheduling, Memory, NUMA,
// Stale regions) of Items, each with a Status (ok, warn, info), the value
// found, a note on why it matters and the exact command or setting that
// fixes it. Everything is read from a configurable /sys, /proc and shm
// directory so tests can feed fake machines; only CPUID, the calling
// thread's CPU mask, statfs(2) of the shm directory and RLIMIT_MEMLOCK come
// from the running process itself. With Config.Clean, Run also removes the
// regions that shm.Stale reports.
//
// "rshm doctor" (cmd/rshm/internal/cli) only parses flags and prints the
// Report as text (WriteText) or JSON (encoding/json).
package doctor
