package ring

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"unsafe"
)

func TestLayoutOffsets(t *testing.T) {
	tests := []struct {
		name      string
		got, want int
	}{
		{"magic", magicOffset, 0},
		{"version", versionOffset, 8},
		{"capacity", capacityOffset, 16},
		{"producer counter", producerOffset, 128},
		{"consumer counter", consumerOffset, 256},
		{"consumer closed", consumerClosedOffset, 264},
		{"consumer parked", dataParkedOffset, 384},
		{"producer parked", spaceParkedOffset, 512},
		{"producer closed", producerClosedOffset, 640},
		{"header size", HeaderSize, 768},
	}
	for i, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%d: %s offset = %d; want %d", i, tt.name, tt.got, tt.want)
		}
	}
}

func TestLayoutAlignment(t *testing.T) {
	for _, off := range []int{producerOffset, consumerOffset, capacityOffset} {
		if off%8 != 0 {
			t.Errorf("u64 at %d not 8-aligned", off)
		}
	}
	for _, off := range []int{versionOffset, producerClosedOffset, consumerClosedOffset, dataParkedOffset, spaceParkedOffset} {
		if off%4 != 0 {
			t.Errorf("u32 at %d not 4-aligned", off)
		}
	}
	if HeaderSize%lineSize != 0 {
		t.Errorf("HeaderSize %d: data does not start on a %d-byte line", HeaderSize, lineSize)
	}
}

// Words one side writes while running must be >= 128 bytes from every word
// the other side writes, and from the read-only metadata.
func TestLayoutSeparation(t *testing.T) {
	type word struct {
		name  string
		off   int
		owner string
	}
	words := []word{
		{"metadata", 0, "init"},
		{"producer counter", producerOffset, "producer"},
		{"consumer counter", consumerOffset, "consumer"},
		{"consumer parked", dataParkedOffset, "consumer"},
		{"producer parked", spaceParkedOffset, "producer"},
		{"producer closed", producerClosedOffset, "producer"},
	}
	for i, a := range words {
		for _, b := range words[i+1:] {
			d := b.off - a.off
			if d < 0 {
				d = -d
			}
			if d < lineSize {
				t.Errorf("%s (%d) and %s (%d) are %d bytes apart; want >= %d", a.name, a.off, b.name, b.off, d, lineSize)
			}
		}
	}
	// The Go struct: producer and consumer state on separate lines.
	var b Buffer
	p := unsafe.Offsetof(b.pPos)
	pEnd := unsafe.Offsetof(b.pStats) + unsafe.Sizeof(b.pStats)
	c := unsafe.Offsetof(b.cPos)
	shared := unsafe.Offsetof(b.spaceParked) + unsafe.Sizeof(b.spaceParked)
	if p-shared < lineSize {
		t.Errorf("producer state at %d is %d bytes after shared fields; want >= %d", p, p-shared, lineSize)
	}
	if c-pEnd < lineSize {
		t.Errorf("consumer state at %d is %d bytes after producer state end %d; want >= %d", c, c-pEnd, pEnd, lineSize)
	}
	if end := unsafe.Sizeof(b); end-(unsafe.Offsetof(b.cStats)+unsafe.Sizeof(b.cStats)) < lineSize {
		t.Errorf("consumer state not padded at the end of Buffer (size %d)", end)
	}
}

// The header Init writes, byte for byte.
func TestInitGolden(t *testing.T) {
	mem := AlignedMem(Size(1024))
	for i := range mem {
		mem[i] = 0xAA
	}
	if _, err := Init(mem, 1024); err != nil {
		t.Fatal(err)
	}
	want := make([]byte, HeaderSize)
	copy(want, "RSHMRING")
	want[8] = 3       // version
	want[16+1] = 0x04 // capacity 1024, little-endian
	if got := mem[:HeaderSize]; !bytes.Equal(got, want) {
		t.Errorf("header = %x\nwant %x", got, want)
	}
	// The first record header slot is zero: no record yet. The rest of the
	// data area is left as it was.
	if got := mem[HeaderSize : HeaderSize+RecordHeaderSize]; !bytes.Equal(got, make([]byte, RecordHeaderSize)) {
		t.Errorf("first header slot = %x; want zero", got)
	}
	if got := mem[HeaderSize+RecordHeaderSize]; got != 0xAA {
		t.Errorf("data byte 8 = %#x; want untouched 0xaa", got)
	}
}

func TestAlignedMem(t *testing.T) {
	for _, n := range []int{0, 1, 63, 64, 65, Size(4096)} {
		m := AlignedMem(n)
		if len(m) != n || cap(m) != n {
			t.Errorf("AlignedMem(%d): len %d cap %d", n, len(m), cap(m))
		}
		if n > 0 && uintptr(unsafe.Pointer(&m[0]))%Alignment != 0 {
			t.Errorf("AlignedMem(%d) not aligned", n)
		}
	}
}

func TestInitErrors(t *testing.T) {
	mem := AlignedMem(Size(4096) + 64)
	tests := []struct {
		name string
		mem  []byte
		capa int
	}{
		{"not power of two", mem[:Size(3000)], 3000},
		{"too small", mem[:Size(512)], 512},
		{"too large", mem, 1 << 31},
		{"negative", mem, -1},
		{"memory too short", mem[:Size(4096)-1], 4096},
		{"memory too long", mem[:Size(4096)+8], 4096},
		{"misaligned", mem[8 : 8+Size(4096)], 4096},
	}
	for i, tt := range tests {
		if _, err := Init(tt.mem, tt.capa); !errors.Is(err, ErrBadLayout) {
			t.Errorf("%d %s: err = %v; want ErrBadLayout", i, tt.name, err)
		}
	}
}

func TestAttach(t *testing.T) {
	const capa = 4096
	fresh := func() []byte {
		m := AlignedMem(Size(capa))
		if _, err := Init(m, capa); err != nil {
			t.Fatal(err)
		}
		return m
	}
	if b, err := Attach(fresh()); err != nil || b.Capacity() != capa || b.MaxRecord() != capa/8+HeaderSlack {
		t.Fatalf("Attach(fresh) = %v, %v", b, err)
	}
	tests := []struct {
		name   string
		mutate func(m []byte) []byte
		want   error
	}{
		{"bad magic", func(m []byte) []byte { m[0] = 'X'; return m }, ErrBadLayout},
		{"version 1", func(m []byte) []byte { binary.LittleEndian.PutUint32(m[versionOffset:], 1); return m }, ErrBadLayout},
		{"version 2", func(m []byte) []byte { binary.LittleEndian.PutUint32(m[versionOffset:], 2); return m }, ErrBadLayout},
		{"version 4", func(m []byte) []byte { binary.LittleEndian.PutUint32(m[versionOffset:], 4); return m }, ErrBadLayout},
		{"capacity larger than memory", func(m []byte) []byte { binary.LittleEndian.PutUint64(m[capacityOffset:], 8192); return m }, ErrBadLayout},
		{"capacity smaller than memory", func(m []byte) []byte { binary.LittleEndian.PutUint64(m[capacityOffset:], 2048); return m }, ErrBadLayout},
		{"capacity not power of two", func(m []byte) []byte { binary.LittleEndian.PutUint64(m[capacityOffset:], 4095); return m }, ErrBadLayout},
		{"capacity huge", func(m []byte) []byte { binary.LittleEndian.PutUint64(m[capacityOffset:], 1<<62); return m }, ErrBadLayout},
		{"truncated", func(m []byte) []byte { return m[:HeaderSize-1] }, ErrBadLayout},
		{"memory short", func(m []byte) []byte { return m[:len(m)-8] }, ErrBadLayout},
		{"misaligned", func(m []byte) []byte {
			n := AlignedMem(len(m) + 8)[8:]
			copy(n, m)
			return n
		}, ErrBadLayout},
		{"producer counter misaligned", func(m []byte) []byte { binary.LittleEndian.PutUint64(m[producerOffset:], 4); return m }, ErrCorrupt},
		{"consumer ahead", func(m []byte) []byte { binary.LittleEndian.PutUint64(m[consumerOffset:], 8); return m }, ErrCorrupt},
		{"producer too far ahead", func(m []byte) []byte { binary.LittleEndian.PutUint64(m[producerOffset:], capa+8); return m }, ErrCorrupt},
		{"producer on the consumer's header slot", func(m []byte) []byte { binary.LittleEndian.PutUint64(m[producerOffset:], capa); return m }, ErrCorrupt},
	}
	for i, tt := range tests {
		if _, err := Attach(tt.mutate(fresh())); !errors.Is(err, tt.want) {
			t.Errorf("%d %s: err = %v; want %v", i, tt.name, err, tt.want)
		}
	}
}
