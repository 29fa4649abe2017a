package shm

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
)

func TestHeaderOffsets(t *testing.T) {
	tests := []struct {
		name      string
		got, want int
	}{
		{"magic", offMagic, 0},
		{"version", offVersion, 8},
		{"headerSize", offHeaderSize, 12},
		{"totalSize", offTotalSize, 16},
		{"creatorPID", offCreatorPID, 24},
		{"reserved", offReserved, 28},
		{"creatorStart", offCreatorStart, 32},
		{"ringCap", offRingCap, 40},
		{"creatorNS", offCreatorNS, 48},
		{"creatorEnd", creatorEnd, 56},
		{"opened", offOpened, 128},
		{"openerPID", offOpenerPID, 132},
		{"nonce", offNonce, 136},
		{"openerEnd", openerEnd, 152},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s offset = %d; want %d", tt.name, tt.got, tt.want)
		}
	}
	for name, off := range map[string]int{"totalSize": offTotalSize, "creatorStart": offCreatorStart, "ringCap": offRingCap, "creatorNS": offCreatorNS} {
		if off%8 != 0 {
			t.Errorf("%s at %d is not 8-byte aligned", name, off)
		}
	}
	if offOpened%4 != 0 {
		t.Errorf("opened flag at %d is not 4-byte aligned", offOpened)
	}
	if d := openerLine - offMagic; d < 128 {
		t.Errorf("opener line %d bytes after the creator line; want at least 128", d)
	}
	if creatorEnd > openerLine {
		t.Errorf("creator line ends at %d, inside the opener line at %d", creatorEnd, openerLine)
	}
	if openerEnd > HeaderSize || HeaderSize%4096 != 0 {
		t.Errorf("header of %d bytes ends at %d; want a whole page holding everything", HeaderSize, openerEnd)
	}
}

var goldenHeader = header{
	version:      Version,
	headerSize:   HeaderSize,
	totalSize:    0x12000,
	creatorPID:   0x1234,
	creatorStart: 0x0102030405060708,
	ringCap:      4096,
	creatorNS:    0xeffffffc,
}

func TestHeaderGolden(t *testing.T) {
	got := appendHeader(nil, goldenHeader)
	want, _ := hex.DecodeString("" +
		"5253484d5245474e" + // "RSHMREGN"
		"01000000" + "00100000" + // version 1, header 4096
		"0020010000000000" + // total size 0x12000
		"34120000" + "00000000" + // pid, reserved
		"0807060504030201" + // start time
		"0010000000000000" + // ring capacity 4096
		"fcffffef00000000") // creator's PID namespace
	if !bytes.Equal(got, want) {
		t.Fatalf("appendHeader =\n%x\nwant\n%x", got, want)
	}
	h, err := parseHeader(got, 0x12000)
	if err != nil {
		t.Fatal(err)
	}
	if h != goldenHeader {
		t.Errorf("parseHeader = %+v; want %+v", h, goldenHeader)
	}
}

func TestParseHeaderRejects(t *testing.T) {
	good := appendHeader(nil, goldenHeader)
	tests := []struct {
		name   string
		mutate func(b []byte) []byte
		size   int64
		want   error
	}{
		{"short", func(b []byte) []byte { return b[:creatorEnd-1] }, 0x12000, ErrBadHeader},
		{"empty", func(b []byte) []byte { return nil }, 0x12000, ErrBadHeader},
		{"magic", func(b []byte) []byte { b[0] = 'X'; return b }, 0x12000, ErrBadHeader},
		{"version", func(b []byte) []byte { b[offVersion] = 2; return b }, 0x12000, ErrVersion},
		{"header size", func(b []byte) []byte { b[offHeaderSize+1] = 0x20; return b }, 0x12000, ErrBadHeader},
		{"size mismatch", func(b []byte) []byte { return b }, 0x13000, ErrSize},
		{"negative file size", func(b []byte) []byte { return b }, -1, ErrSize},
		{"pid zero", func(b []byte) []byte { clear(b[offCreatorPID : offCreatorPID+4]); return b }, 0x12000, ErrBadHeader},
		{"ring too big", func(b []byte) []byte { b[offRingCap+3] = 1; return b }, 0x12000, ErrBadHeader},
	}
	for i, tt := range tests {
		b := tt.mutate(bytes.Clone(good))
		_, err := parseHeader(b, tt.size)
		if !errors.Is(err, tt.want) {
			t.Errorf("%d %s: got %v; want %v", i, tt.name, err, tt.want)
		}
	}
	small := goldenHeader
	small.totalSize = 100
	if _, err := parseHeader(appendHeader(nil, small), 100); !errors.Is(err, ErrSize) {
		t.Errorf("100-byte region: got %v; want ErrSize", err)
	}
}

func FuzzParseHeader(f *testing.F) {
	f.Add(appendHeader(nil, goldenHeader), int64(0x12000))
	f.Add(appendHeader(nil, header{version: 2}), int64(0))
	f.Add([]byte(Magic), int64(4096))
	f.Fuzz(func(t *testing.T, b []byte, size int64) {
		h, err := parseHeader(b, size)
		if err != nil {
			return
		}
		if h.totalSize != uint64(size) || h.totalSize < HeaderSize || h.ringCap > h.totalSize {
			t.Fatalf("accepted inconsistent header %+v for size %d", h, size)
		}
		// Everything but the reserved word round-trips.
		got := appendHeader(nil, h)
		want := bytes.Clone(b[:creatorEnd])
		clear(want[offReserved : offReserved+4])
		if !bytes.Equal(got, want) {
			t.Fatalf("round trip:\n%x\nwant\n%x", got, want)
		}
	})
}
