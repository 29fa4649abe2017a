package ring

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
)

func newRing(t testing.TB, capacity int) *Buffer {
	t.Helper()
	b, err := Init(AlignedMem(Size(capacity)), capacity)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readAll drains b and returns copies of the records.
func readAll(t testing.TB, b *Buffer) [][]byte {
	t.Helper()
	var out [][]byte
	n, err := b.Read(func(rec []byte) bool {
		out = append(out, bytes.Clone(rec))
		return true
	})
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if n != len(out) {
		t.Fatalf("Read returned %d, delivered %d", n, len(out))
	}
	return out
}

func TestWriteRead(t *testing.T) {
	b := newRing(t, 1024)
	want := [][]byte{[]byte("a"), {}, []byte("hello, ring"), bytes.Repeat([]byte{7}, b.MaxRecord())}
	for _, p := range want {
		if err := b.Write(p); err != nil {
			t.Fatalf("Write(%d bytes): %v", len(p), err)
		}
	}
	got := readAll(t, b)
	if len(got) != len(want) {
		t.Fatalf("got %d records; want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("record %d = %q; want %q", i, got[i], want[i])
		}
	}
	if got := readAll(t, b); len(got) != 0 {
		t.Errorf("second Read got %d records; want 0", len(got))
	}
}

// A record's bytes in the ring: header, payload, padding to 8, and the zero
// header slot the producer stores after it.
func TestRecordGolden(t *testing.T) {
	b := newRing(t, 1024)
	copy(b.data[16:24], "garbage!") // the next header slot, from an old lap
	if err := b.Write([]byte("abc")); err != nil {
		t.Fatal(err)
	}
	got := b.data[:24]
	want := []byte{3, 0, 0, 0, 1, 0, 0, 0, 'a', 'b', 'c', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	if !bytes.Equal(got, want) {
		t.Errorf("record bytes = %v; want %v", got, want)
	}
	if got := b.producer.Load(); got != 16 {
		t.Errorf("producer counter = %d; want 16", got)
	}
}

func TestCommitShrinks(t *testing.T) {
	b := newRing(t, 1024)
	buf, err := b.Claim(100)
	if err != nil {
		t.Fatal(err)
	}
	if len(buf) != 100 || cap(buf) != 100 {
		t.Fatalf("Claim(100): len %d cap %d", len(buf), cap(buf))
	}
	copy(buf, "0123456789")
	b.Commit(10)
	if got := b.producer.Load(); got != 8+16 {
		t.Errorf("producer counter = %d; want %d", got, 8+16)
	}
	if got := readAll(t, b); len(got) != 1 || string(got[0]) != "0123456789" {
		t.Errorf("got %q; want [0123456789]", got)
	}
}

func TestAbort(t *testing.T) {
	b := newRing(t, 1024)
	if _, err := b.Claim(10); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Claim(10); err != ErrClaimed {
		t.Errorf("second Claim: err = %v; want ErrClaimed", err)
	}
	b.Abort()
	if got := readAll(t, b); len(got) != 0 {
		t.Errorf("after Abort read %d records; want 0", len(got))
	}
	if err := b.Write([]byte("x")); err != nil {
		t.Fatalf("Write after Abort: %v", err)
	}
	if got := readAll(t, b); len(got) != 1 || string(got[0]) != "x" {
		t.Errorf("got %q; want [x]", got)
	}
}

func TestCommitMisusePanics(t *testing.T) {
	b := newRing(t, 1024)
	for i, f := range []func(){
		func() { b.Commit(0) },
		func() { b.Claim(4); b.Commit(5) },
		func() { b.Abort(); b.Claim(4); b.Commit(-1) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%d: no panic", i)
				}
			}()
			f()
		}()
	}
}

func TestTooLarge(t *testing.T) {
	b := newRing(t, 4096)
	for _, n := range []int{-1, b.MaxRecord() + 1, 1 << 40} {
		if _, err := b.Claim(n); err != ErrTooLarge {
			t.Errorf("Claim(%d): err = %v; want ErrTooLarge", n, err)
		}
	}
	if _, err := b.Claim(b.MaxRecord()); err != nil {
		t.Errorf("Claim(MaxRecord): %v", err)
	}
}

func TestFull(t *testing.T) {
	b := newRing(t, 1024)
	rec := make([]byte, 120) // 128 bytes with the header
	for i := range 7 {
		if err := b.Write(rec); err != nil {
			t.Fatalf("Write %d: %v", i, err)
		}
	}
	// 128 bytes are left, and the last 8 of them must stay free: they are
	// the header slot after the last record, which the consumer polls.
	if err := b.Write(rec); err != ErrFull {
		t.Fatalf("Write of 128 bytes into 120 usable: err = %v; want ErrFull", err)
	}
	if err := b.Write(rec[:112]); err != nil {
		t.Fatalf("Write of the last 120 bytes: %v", err)
	}
	if err := b.Write(nil); err != ErrFull {
		t.Fatalf("Write(nil) into a full ring: err = %v; want ErrFull", err)
	}
	n, err := b.Read(func([]byte) bool { return false })
	if n != 1 || err != nil {
		t.Fatalf("Read one: %d, %v", n, err)
	}
	// 128 bytes free at the start of the ring; a record there closes the
	// lap with an 8-byte padding record first, and fills the ring again.
	if err := b.Write(rec[:112]); err != nil {
		t.Fatalf("Write after Read: %v", err)
	}
	if err := b.Write(nil); err != ErrFull {
		t.Fatalf("Write: err = %v; want ErrFull", err)
	}
	if got := readAll(t, b); len(got) != 8 || len(got[6]) != 112 || len(got[7]) != 112 {
		t.Fatalf("read %d records; want 7 of them and the one after the wrap", len(got))
	}
}

func TestWrapPadding(t *testing.T) {
	b := newRing(t, 4096)
	// 8 records of 8+496 = 504 bytes end at 4032; the next one does not
	// fit in the 64 bytes left, so a padding record closes the lap.
	rec := make([]byte, 496)
	for i := range 8 {
		rec[0] = byte(i)
		if err := b.Write(rec); err != nil {
			t.Fatal(err)
		}
	}
	if got := readAll(t, b); len(got) != 8 {
		t.Fatalf("read %d; want 8", len(got))
	}
	rec[0] = 8
	if err := b.Write(rec); err != nil {
		t.Fatal(err)
	}
	h := binary.LittleEndian.Uint64(b.data[4032:])
	if length, typ := h&0xffffffff, h>>32; length != 4096-4032-8 || typ != recordPadding {
		t.Errorf("padding header = length %d type %d; want %d, %d", length, typ, 4096-4032-8, recordPadding)
	}
	if h := binary.LittleEndian.Uint64(b.data[0:]); h != 496|recordData<<32 {
		t.Errorf("record at offset 0: header %#x", h)
	}
	if got := b.producer.Load(); got != 4096+504 {
		t.Errorf("producer counter = %d; want %d", got, 4096+504)
	}
	got := readAll(t, b)
	if len(got) != 1 || got[0][0] != 8 || len(got[0]) != 496 {
		t.Errorf("after wrap read %d records", len(got))
	}
	if got := b.consumer.Load(); got != 4096+504 {
		t.Errorf("consumer counter = %d; want %d", got, 4096+504)
	}
}

// Staged records are invisible until Flush, which publishes them with one
// store of the first one's header (and stores the counter once).
func TestStageFlush(t *testing.T) {
	b := newRing(t, 1024)
	for i := range 3 {
		buf, err := b.Claim(1)
		if err != nil {
			t.Fatal(err)
		}
		buf[0] = byte('a' + i)
		b.Stage(1)
		if got := b.producer.Load(); got != 0 {
			t.Fatalf("producer counter after Stage = %d; want 0", got)
		}
	}
	// The first header is held back; the ones behind it are written.
	if h := binary.LittleEndian.Uint64(b.data[0:]); h != 0 {
		t.Errorf("first staged header = %#x before Flush; want 0", h)
	}
	if h := binary.LittleEndian.Uint64(b.data[16:]); h != 1|recordData<<32 {
		t.Errorf("second staged header = %#x; want %#x", h, 1|recordData<<32)
	}
	if got := readAll(t, b); len(got) != 0 {
		t.Fatalf("read %d staged records; want 0", len(got))
	}
	b.Flush()
	if got := b.producer.Load(); got != 48 {
		t.Errorf("producer counter after Flush = %d; want 48", got)
	}
	got := readAll(t, b)
	if want := "[a b c]"; fmt.Sprintf("%s", got) != want {
		t.Errorf("got %s; want %s", got, want)
	}
}

// A batch that wraps: whichever header is held back (a data record's
// before the wrap, or the padding record's when the batch's first record
// starts the new lap), nothing of the batch is readable before Flush, and
// everything is, in order, after it.
func TestStageAcrossWrap(t *testing.T) {
	for _, first := range []int{0, 1} { // records written before the batch
		b := newRing(t, 1024)
		rec := make([]byte, 112) // 120 bytes with the header
		for range 7 + first {
			if err := b.Write(rec); err != nil {
				t.Fatal(err)
			}
		}
		readAll(t, b) // 840 or 960 consumed: 184 or 64 bytes left in the lap
		// first 0: the batch's first record fits before the end and its
		// header is held back; first 1: it starts the new lap, and the
		// padding record's header is held back.
		var want []string
		for i := range 3 {
			buf, err := b.Claim(len(rec))
			if err != nil {
				t.Fatalf("first %d, record %d: %v", first, i, err)
			}
			buf[0] = byte('a' + i)
			b.Stage(len(rec))
			want = append(want, string(rune('a'+i)))
			if got := readAll(t, b); len(got) != 0 {
				t.Fatalf("first %d: read %d records of an unflushed batch", first, len(got))
			}
		}
		if b.pPos < 1024 {
			t.Fatalf("first %d: the batch did not wrap (position %d)", first, b.pPos)
		}
		if typ := binary.LittleEndian.Uint64(b.data[b.pGate&b.mask:]) >> 32; b.pGateHdr>>32 != uint64(recordData+first) || typ != 0 {
			t.Fatalf("first %d: held-back header %#x, slot type %d", first, b.pGateHdr, typ)
		}
		b.Flush()
		var got []string
		for _, r := range readAll(t, b) {
			got = append(got, string(r[:1]))
		}
		if s := fmt.Sprint(got); s != fmt.Sprint(want) {
			t.Errorf("first %d: got %s; want %s", first, s, want)
		}
		if c := b.consumer.Load(); c != b.pPos {
			t.Errorf("first %d: consumer counter %d; want the producer's position %d", first, c, b.pPos)
		}
	}
}

// Read stores the consumer counter once, after the batch.
func TestReadPublishesOncePerCall(t *testing.T) {
	b := newRing(t, 1024)
	for range 5 {
		if err := b.Write([]byte("12345678")); err != nil {
			t.Fatal(err)
		}
	}
	calls := 0
	n, err := b.Read(func([]byte) bool {
		calls++
		if got := b.consumer.Load(); got != 0 {
			t.Errorf("consumer counter during Read = %d; want 0", got)
		}
		return true
	})
	if n != 5 || calls != 5 || err != nil {
		t.Fatalf("Read = %d, %v; %d calls", n, err, calls)
	}
	if got := b.consumer.Load(); got != 5*16 {
		t.Errorf("consumer counter after Read = %d; want %d", got, 5*16)
	}
}

// In one long Read the consumer hands space back every quarter of the
// ring, not only when Read returns: a producer keeping up with a full ring
// can claim again while the Read still runs, and need not wait for the lap.
func TestReadHandsBackEachQuarter(t *testing.T) {
	const capacity = 4096
	b := newRing(t, capacity)
	rec := make([]byte, 56)
	size := RecordHeaderSize + len(rec) // 64: a quarter is 16 records
	written := 0
	for b.Write(rec) == nil {
		written++
	}
	if _, err := b.Claim(len(rec)); err != ErrFull {
		t.Fatalf("Claim on the full ring = %v; want ErrFull", err)
	}
	calls, firstClaim := 0, 0 // the call in which Claim first succeeded
	n, err := b.Read(func([]byte) bool {
		calls++
		if firstClaim == 0 {
			if _, err := b.Claim(len(rec)); err == nil {
				firstClaim = calls
				b.Abort()
			} else if err != ErrFull {
				t.Errorf("Claim in call %d = %v; want nil or ErrFull", calls, err)
			}
		}
		return true
	})
	if n != written || err != nil {
		t.Fatalf("Read = %d, %v; want %d, nil", n, err, written)
	}
	// After the call that ends the first quarter, the space it read is
	// the producer's: the next call can claim a record.
	if want := capacity/4/size + 1; firstClaim != want {
		t.Errorf("Claim first succeeded in call %d of %d; want call %d, after a quarter of the ring was read",
			firstClaim, written, want)
	}
}

func TestReadStopsEarly(t *testing.T) {
	b := newRing(t, 1024)
	for i := range 5 {
		if err := b.Write([]byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	var seen []byte
	n, err := b.Read(func(rec []byte) bool {
		seen = append(seen, rec[0])
		return len(seen) < 2
	})
	if n != 2 || err != nil || !bytes.Equal(seen, []byte{0, 1}) {
		t.Fatalf("Read = %d, %v, saw %v; want 2, nil, [0 1]", n, err, seen)
	}
	if got := b.consumer.Load(); got != 32 {
		t.Errorf("consumer counter = %d; want 32", got)
	}
	if got := readAll(t, b); len(got) != 3 || got[0][0] != 2 {
		t.Errorf("rest = %v; want [[2] [3] [4]]", got)
	}
}

func TestAllIterator(t *testing.T) {
	b := newRing(t, 1024)
	for i := range 4 {
		if err := b.Write([]byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	var seen []byte
	for rec := range b.All {
		seen = append(seen, rec[0])
		if len(seen) == 3 {
			break
		}
	}
	for rec := range b.All {
		seen = append(seen, rec[0]+10)
	}
	if !bytes.Equal(seen, []byte{0, 1, 2, 13}) || b.Err() != nil {
		t.Errorf("saw %v, err %v; want [0 1 2 13], nil", seen, b.Err())
	}
}

func TestCloseWrite(t *testing.T) {
	b := newRing(t, 1024)
	if err := b.Write([]byte("last")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Claim(3); err != nil { // aborted by CloseWrite
		t.Fatal(err)
	}
	b.CloseWrite()
	if err := b.Write([]byte("x")); err != ErrClosed {
		t.Errorf("Write after CloseWrite: %v; want ErrClosed", err)
	}
	c, err := Attach(b.Mem())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	n, err := c.Read(func(rec []byte) bool { got = append(got, string(rec)); return true })
	if n != 1 || err != nil || len(got) != 1 || got[0] != "last" {
		t.Fatalf("Read = %d, %v, %q; want 1, nil, [last]", n, err, got)
	}
	for range 2 {
		if n, err := c.Read(func([]byte) bool { return true }); n != 0 || err != ErrClosed {
			t.Errorf("Read after the last record = %d, %v; want 0, ErrClosed", n, err)
		}
	}
	if !c.WaitData(0) || c.Err() != ErrClosed {
		t.Errorf("WaitData on closed ring: false or Err %v", c.Err())
	}
}

func TestCloseRead(t *testing.T) {
	b := newRing(t, 1024)
	c, err := Attach(b.Mem())
	if err != nil {
		t.Fatal(err)
	}
	c.CloseRead()
	if n, err := c.Read(func([]byte) bool { return true }); n != 0 || err != ErrClosed {
		t.Errorf("Read after CloseRead = %d, %v; want 0, ErrClosed", n, err)
	}
	rec := make([]byte, 120)
	var err2 error
	for i := 0; i < 20 && err2 == nil; i++ {
		err2 = b.Write(rec)
	}
	if err2 != ErrClosed {
		t.Errorf("Write to a closed consumer until full: %v; want ErrClosed", err2)
	}
	if !b.WaitSpace(8, 0) {
		t.Error("WaitSpace on a closed consumer = false")
	}
}

// A peer attaching to a ring with records in it reads them, and a producer
// attaching appends after them.
func TestAttachResumes(t *testing.T) {
	p := newRing(t, 1024)
	for i := range 3 {
		if err := p.Write([]byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	c, err := Attach(p.Mem())
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := c.Read(func([]byte) bool { return false }); n != 1 {
		t.Fatalf("read %d; want 1", n)
	}
	p2, err := Attach(p.Mem())
	if err != nil {
		t.Fatal(err)
	}
	if err := p2.Write([]byte{3}); err != nil {
		t.Fatal(err)
	}
	// c follows the record headers: the record p2 appended after the two
	// that c had not read yet comes with them.
	got := readAll(t, c)
	if len(got) != 3 || got[0][0] != 1 || got[2][0] != 3 {
		t.Errorf("got %v; want [[1] [2] [3]]", got)
	}
}

func TestStickyErrors(t *testing.T) {
	b := newRing(t, 1024)
	binary.LittleEndian.PutUint64(b.mem[consumerOffset:], 3)
	rec := make([]byte, 120)
	var err error
	for i := 0; i < 20 && err == nil; i++ {
		err = b.Write(rec)
	}
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Write with a misaligned consumer counter: %v; want ErrCorrupt", err)
	}
	binary.LittleEndian.PutUint64(b.mem[consumerOffset:], 0)
	if _, err2 := b.Claim(1); err2 != err {
		t.Errorf("Claim after corruption: %v; want the same %v", err2, err)
	}
}

// TestPrefetchLines: the lines prefetchRecord asks for cover the record's
// first prefetchMax bytes, wherever it starts, and nothing past its last line.
func TestPrefetchLines(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		start := uintptr(rng.Uint64N(1 << 40))
		n := int(rng.Uint64N(3 * prefetchMax))
		if rng.IntN(2) == 0 {
			n = rng.IntN(200)
		}
		lines := prefetchSpan(start, n)
		first, want := start&^63, uintptr(min(n, prefetchMax))
		if want == 0 {
			if lines > 1 {
				t.Fatalf("start %d, %d bytes: %d lines", start, n, lines)
			}
			continue
		}
		if first+64*uintptr(lines) < start+want {
			t.Fatalf("start %d, %d bytes: %d lines do not reach byte %d", start, n, lines, start+want-1)
		}
		if first+64*uintptr(lines-1) >= start+want {
			t.Fatalf("start %d, %d bytes: %d lines, the last past the byte %d", start, n, lines, start+want-1)
		}
	}
}
