package shm

import (
	"fmt"

	"github.com/rshm/rshm/ring"
)

// A Duplex region holds one ring per direction:
//
//	0           HeaderSize        HeaderSize+area    HeaderSize+2*area
//	+-----------+-----------------+------------------+
//	| region    | ring 0          | ring 1           |
//	| header    | client->server  | server->client   |
//	+-----------+-----------------+------------------+
//
// where area is ring.Size(capacity) rounded up to RingAlignment. The ring
// capacity is recorded in the region header and checked on open; the wait
// (futex) words live in each ring's own header, so the duplex adds none.
const RingAlignment = 4096

// Duplex is a region holding two rings, one per direction. The creator is
// the server side by convention: it reads ClientToServer and writes
// ServerToClient; the opener does the opposite. Each ring has one producer
// and one consumer; see package ring for which goroutine may call what.
type Duplex struct {
	r   *Region
	c2s *ring.Buffer
	s2c *ring.Buffer
}

// ringArea is the bytes one ring takes in a duplex, page aligned.
func ringArea(capacity int) int {
	return (ring.Size(capacity) + RingAlignment - 1) / RingAlignment * RingAlignment
}

// CreateDuplex creates a region holding two empty rings of ringCapacity data
// bytes each (a power of two in [ring.MinCapacity, ring.MaxCapacity]). The
// caller owns the region name, as with Create.
func CreateDuplex(cfg Config, ringCapacity int) (*Duplex, error) {
	return createDuplex(cfg, ringCapacity, true)
}

// PrepareDuplex is CreateDuplex for a region made ahead of the peer that
// will use it: the file has no name in the directory until Region.Link,
// so a region prepared and never handed out leaves nothing behind, even
// when the process is killed. It needs O_TMPFILE (Linux 3.11 and a tmpfs
// or a file system that supports it) and fails where that is missing.
func PrepareDuplex(cfg Config, ringCapacity int) (*Duplex, error) {
	return createDuplex(cfg, ringCapacity, false)
}

func createDuplex(cfg Config, ringCapacity int, named bool) (*Duplex, error) {
	if ringCapacity < ring.MinCapacity || ringCapacity > ring.MaxCapacity {
		return nil, &Error{Op: "create duplex", Err: fmt.Errorf("%w: ring capacity %d", ErrNotDuplex, ringCapacity)}
	}
	area := ringArea(ringCapacity)
	r, err := create(cfg, 2*area, uint64(ringCapacity), named)
	if err != nil {
		return nil, &Error{Op: "create duplex", Name: nameOf(r), Err: err}
	}
	d := &Duplex{r: r}
	mem := r.Bytes()
	size := ring.Size(ringCapacity)
	if d.c2s, err = ring.Init(mem[HeaderSize:HeaderSize+size], ringCapacity); err == nil {
		d.s2c, err = ring.Init(mem[HeaderSize+area:HeaderSize+area+size], ringCapacity)
	}
	if err != nil {
		r.Close()
		r.Unlink()
		return nil, &Error{Op: "create duplex", Name: r.name, Err: err}
	}
	return d, nil
}

// OpenDuplex opens a region made by CreateDuplex and attaches to both
// rings, after checking that the recorded ring capacity fits the region's
// size exactly.
func OpenDuplex(cfg Config, name string) (*Duplex, error) {
	r, err := Open(cfg, name)
	if err != nil {
		return nil, err
	}
	var d *Duplex
	if ferr := guard(func() { d, err = attachDuplex(r) }); ferr != nil {
		err = ferr
	}
	if err != nil {
		r.Close()
		return nil, &Error{Op: "open duplex", Name: name, Err: err}
	}
	return d, nil
}

func attachDuplex(r *Region) (*Duplex, error) {
	c := r.hdr.ringCap
	if c < ring.MinCapacity || c > ring.MaxCapacity {
		return nil, fmt.Errorf("%w: ring capacity %d", ErrNotDuplex, c)
	}
	area := ringArea(int(c))
	if want := HeaderSize + 2*area; r.Size() != want {
		return nil, fmt.Errorf("%w: %d bytes, rings of capacity %d need %d", ErrNotDuplex, r.Size(), c, want)
	}
	mem := r.Bytes()
	size := ring.Size(int(c))
	d := &Duplex{r: r}
	var err error
	if d.c2s, err = ring.Attach(mem[HeaderSize : HeaderSize+size]); err != nil {
		return nil, fmt.Errorf("ring 0: %w", err)
	}
	if d.s2c, err = ring.Attach(mem[HeaderSize+area : HeaderSize+area+size]); err != nil {
		return nil, fmt.Errorf("ring 1: %w", err)
	}
	if d.c2s.Capacity() != int(c) || d.s2c.Capacity() != int(c) {
		return nil, fmt.Errorf("%w: ring capacities %d and %d, header says %d",
			ErrNotDuplex, d.c2s.Capacity(), d.s2c.Capacity(), c)
	}
	return d, nil
}

// Region returns the region the rings live in, for its name, handshake
// words, Unlink and Close.
func (d *Duplex) Region() *Region { return d.r }

// RingCapacity returns the data capacity of each ring.
func (d *Duplex) RingCapacity() int { return int(d.r.hdr.ringCap) }

// ClientToServer returns the ring the opener writes and the creator reads.
func (d *Duplex) ClientToServer() *ring.Buffer { return d.c2s }

// ServerToClient returns the ring the creator writes and the opener reads.
func (d *Duplex) ServerToClient() *ring.Buffer { return d.s2c }

// Close unmaps the region; the rings must not be used afterwards. It does
// not unlink; see Region.
func (d *Duplex) Close() error { return d.r.Close() }
