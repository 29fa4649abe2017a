package wire

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzFrame checks that Parse never panics, that every error is one of the
// sentinels, and that for every accepted input Append(nil, Parse(b))
// reproduces b exactly (up to the three canonicalizations documented on
// Append) and Size predicts its length.
func FuzzFrame(f *testing.F) {
	for _, g := range goldenFrames {
		f.Add(unhex(f, g.hex))
	}
	f.Add(unhex(f, "00000003 4200 0102"))        // unknown type, I set
	f.Add(unhex(f, "80000001 2400"))             // reserved stream bit
	f.Add(unhex(f, "00000001 1100 000005 6162")) // metadata past end
	f.Add(AppendPayload(nil, 1, FlagNext, []byte("m"), make([]byte, 64)))
	f.Fuzz(func(t *testing.T, b []byte) {
		var fr Frame
		err := Parse(b, &fr)
		if err != nil {
			if !errors.Is(err, ErrShort) && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnknownType) {
				t.Fatalf("Parse(%x) = %v: not a sentinel", b, err)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%x) = %T, not *ParseError", b, err)
			}
			return
		}
		// The three documented canonicalizations of Append.
		want := bytes.Clone(b)
		want[0] &= 0x7F
		if fr.Type == TypeLease && len(fr.Metadata) > 0 || fr.Type == TypeMetadataPush {
			want[4] |= byte(FlagMetadata >> 8)
		}
		got := Append(nil, &fr)
		if !bytes.Equal(got, want) {
			t.Fatalf("round trip of %v:\n in  %x\n out %x", fr.Type, want, got)
		}
		if n := Size(&fr); n != len(b) {
			t.Fatalf("Size = %d; want %d", n, len(b))
		}
		_ = fr.CheckStream()
		if fr.Type == TypeSetup {
			_ = fr.ValidateSetup()
		}
		// A clone encodes the same.
		c := fr.Clone()
		if got := Append(nil, &c); !bytes.Equal(got, want) {
			t.Fatalf("round trip of clone differs:\n in  %x\n out %x", want, got)
		}
	})
}
