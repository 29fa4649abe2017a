// Package shm owns the files and mappings of rshm's shared-memory transport:
// regions under /dev/shm (Region), a region holding one ring per direction
// (Duplex), and the clean-up of regions whose creator died (Stale,
// RemoveStale).
//
// A region is a file named "rshm-" and 32 random hex digits, mode 0600,
// created with O_EXCL and mapped MAP_SHARED. It starts with a one-page
// header (drawn in header.go) holding a magic number, the layout version,
// the total size, the creator's pid and process start time, the ring
// capacity of a duplex, and a handshake slot where the opener proves it
// mapped the region by writing a nonce (Confirm, WaitConfirmed). Open checks
// the name, the owner and mode, the size and the header before it trusts
// anything in the file.
//
// # Lifetime
//
// Close only unmaps. The name belongs to the creator until one side calls
// Unlink, which both should do as soon as the peer has mapped the region
// (after WaitConfirmed); from then on nothing is left behind whatever
// happens to either process. A region whose creator dies before that stays
// in /dev/shm; Stale finds it by the creator's pid and start time.
//
// A Region holds a file descriptor only while it has no name
// (PrepareDuplex until Region.Link): Create, Open and Link close it as soon
// as the region is mapped and named. Once the name is unlinked, no process
// can open the file again, not even through /proc/PID/fd of a side; the
// mappings alone keep its memory.
//
// # Mapping: x/sys/unix, not mmap-go
//
// BenchmarkMap (map_linux_test.go) creates, maps, touches every page of and
// removes a fresh region per iteration, once per way of mapping it (its
// figures are in docs/benchmarks.md, "Region mapping"). Allocating and
// zeroing tmpfs pages costs the same whichever way, so the totals are
// within noise; what differs is who pays it, which its touch-ns/op shows.
// Without prefaulting (mmap-go has no MAP_POPULATE) the first messages
// through a fresh region take a page fault per 4 KiB page. With
// MADV_POPULATE_WRITE the setup pays it all and the first touch is cheaper
// still than after MAP_POPULATE, which on a shared mapping prefaults for
// reading only. So regions are mapped with unix.Mmap and prefaulted with
// MADV_POPULATE_WRITE, falling back to MAP_POPULATE on kernels before 5.14;
// Config.NoPopulate turns prefaulting off. A populate on a file that a peer
// shrank fails with an error rather than a SIGBUS. Outside Linux the
// package maps with mmap-go and does not prefault.
//
// # Trust
//
// The peer is a process of the same user. Every field read from a header is
// checked; a header that fails a check is ErrBadHeader, ErrVersion or
// ErrSize inside an *Error. A process that opened the file while it had a
// name (the peer, or one that learnt the name) can truncate it, after which
// touching the mapping faults (SIGBUS): Open, OpenDuplex, Confirm and
// Confirmed run with debug.SetPanicOnFault and report such a fault as an
// error wrapping ErrFault (Confirmed as false) instead of crashing. Code
// that uses Bytes, Data or the rings guards its own accesses the same way
// (package shmtransport does).
package shm
