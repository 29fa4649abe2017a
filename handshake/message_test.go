package handshake

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/rshm/rshm/shm"
)

func testHello() hello {
	return hello{
		version:  Version,
		flags:    flagRequired | flagHuge,
		wait:     WaitBlock,
		pageSize: 4096,
		ringSize: 1 << 20,
		host: hostID{
			bootID: [16]byte{0xa6, 0x92, 0x72, 0xcb, 0x6d, 0x44, 0x41, 0xfb, 0x9e, 0x8d, 0xba, 0x79, 0x64, 0x01, 0xb1, 0x92},
			dirDev: 0x16, dirIno: 0x1,
		},
		uid: 1000,
		pid: 4242,
	}
}

// TestHelloGolden pins the bytes of a hello (drawn in doc.go).
func TestHelloGolden(t *testing.T) {
	want := "00003f" + "5253484d" + "01" + "0001" + // length 63, "RSHM", hello, version 1
		"03" + "04" + "0000" + // flags, wait, reserved
		"00001000" + // page size
		"0000000000100000" + // ring size
		"a69272cb6d4441fb9e8dba796401b192" + // boot id
		"0000000000000016" + "0000000000000001" + // dev, ino
		"000003e8" + "00001092" // uid, pid
	got := hex.EncodeToString(appendHello(nil, testHello()))
	if got != want {
		t.Fatalf("hello\ngot  %s\nwant %s", got, want)
	}
	if n := len(want) / 2; n != preambleSize+helloBody {
		t.Fatalf("hello is %d bytes; want %d", n, preambleSize+helloBody)
	}
}

func TestStatusGolden(t *testing.T) {
	got := hex.EncodeToString(appendStatus(nil, msgFinal, status{version: 1, status: statusFallback, reason: ReasonProof, text: "no"}))
	want := "00000c" + "5253484d" + "04" + "0001" + "01" + "0a" + "02" + "6e6f"
	if got != want {
		t.Fatalf("final\ngot  %s\nwant %s", got, want)
	}
}

func TestRoundTrip(t *testing.T) {
	h := testHello()
	gh, err := parseHello(appendHello(nil, h))
	if err != nil || gh != h {
		t.Fatalf("hello: got %+v, %v; want %+v", gh, err, h)
	}
	r := reply{
		version: 1, status: statusOK, pid: 7, uid: 1000, ringSize: 1 << 16,
		nonce: [16]byte{1, 2, 3}, host: h.host, name: "rshm-0123456789abcdef", text: "",
	}
	gr, err := parseReply(appendReply(nil, r))
	if err != nil || gr != r {
		t.Fatalf("reply: got %+v, %v; want %+v", gr, err, r)
	}
	for _, typ := range []uint8{msgProof, msgFinal} {
		s := status{version: 1, status: statusFallback, reason: ReasonOpen, text: "mmap: ENOMEM"}
		gs, err := parseStatus(appendStatus(nil, typ, s), typ)
		if err != nil || gs != s {
			t.Fatalf("status %d: got %+v, %v; want %+v", typ, gs, err, s)
		}
	}
}

// TestLongStrings: strings over 255 bytes are cut, never mis-framed.
func TestLongStrings(t *testing.T) {
	long := string(bytes.Repeat([]byte("x"), 300))
	r, err := parseReply(appendReply(nil, reply{version: 1, status: statusFallback, text: long}))
	if err != nil || len(r.text) != 255 {
		t.Fatalf("got %d bytes, %v; want 255", len(r.text), err)
	}
}

func TestParseErrors(t *testing.T) {
	hello := appendHello(nil, testHello())
	reply := appendReply(nil, reply{version: 1, name: "rshm-x"})
	tests := []struct {
		name string
		msg  []byte
		fn   func([]byte) error
		want error
	}{
		{"empty", nil, parseH, ErrMalformed},
		{"short", hello[:5], parseH, ErrMalformed},
		{"rsocket setup", []byte{0, 0, 20, 0, 0, 0, 0, 0x04, 0, 0, 1, 0, 0}, parseH, ErrNotRSHM},
		{"bad length", append(append([]byte{}, hello...), 0), parseH, ErrMalformed},
		{"truncated body", fixLen(hello[:len(hello)-1]), parseH, ErrMalformed},
		{"wrong type", reply, parseH, ErrMalformed},
		{"version 0", setVersion(hello, 0), parseH, ErrMalformed},
		{"reply name past end", fixLen(reply[:len(reply)-2]), parseR, ErrMalformed},
		{"reply bad status", setByte(reply, preambleSize, 9), parseR, ErrMalformed},
		{"status truncated", fixLen(appendStatus(nil, msgProof, status{version: 1, text: "abc"})[:preambleSize+3]), parseP, ErrMalformed},
		{"status wrong type", appendStatus(nil, msgFinal, status{version: 1}), parseP, ErrMalformed},
	}
	for i, tc := range tests {
		if err := tc.fn(tc.msg); !errors.Is(err, tc.want) {
			t.Errorf("%d %s: got %v; want %v", i, tc.name, err, tc.want)
		}
	}
}

func parseH(m []byte) error { _, err := parseHello(m); return err }
func parseR(m []byte) error { _, err := parseReply(m); return err }
func parseP(m []byte) error { _, err := parseStatus(m, msgProof); return err }

func fixLen(m []byte) []byte {
	m = append([]byte{}, m...)
	return finish(m, 0)
}

func setVersion(m []byte, v uint16) []byte {
	m = append([]byte{}, m...)
	m[8], m[9] = byte(v>>8), byte(v)
	return m
}

func setByte(m []byte, i int, v byte) []byte {
	m = append([]byte{}, m...)
	m[i] = v
	return m
}

// TestLaterVersionHello: a hello of a later version with more fields parses
// as far as version 1 goes.
func TestLaterVersionHello(t *testing.T) {
	m := append(appendHello(nil, testHello()), 1, 2, 3, 4)
	m = finish(setVersion(m, 2), 0)
	h, err := parseHello(m)
	if err != nil || h.version != 2 || h.pid != 4242 {
		t.Fatalf("got %+v, %v", h, err)
	}
}

func TestReadMessage(t *testing.T) {
	var buf [lengthSize + maxMessage]byte
	two := append(appendHello(nil, testHello()), appendStatus(nil, msgProof, status{version: 1})...)
	r := bytes.NewReader(two)
	m, err := readMessage(r, buf[:])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parseHello(m); err != nil {
		t.Fatal(err)
	}
	m, err = readMessage(r, buf[:])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parseStatus(m, msgProof); err != nil {
		t.Fatal(err)
	}
	if _, err := readMessage(r, buf[:]); !errors.Is(err, ErrNotRSHM) {
		t.Fatalf("at EOF: got %v; want ErrNotRSHM", err)
	}
	// An RSocket ERROR frame on stream 0 is not ours, and we do not wait
	// for its body.
	if _, err := readMessage(bytes.NewReader([]byte{0, 0, 30, 0, 0, 0, 0, 0x2c}), buf[:]); !errors.Is(err, ErrNotRSHM) {
		t.Fatalf("rsocket frame: got %v; want ErrNotRSHM", err)
	}
	huge := []byte{0xff, 0xff, 0xff, 'R', 'S', 'H', 'M'}
	if _, err := readMessage(bytes.NewReader(huge), buf[:]); !errors.Is(err, ErrMalformed) {
		t.Fatalf("huge length: got %v; want ErrMalformed", err)
	}
}

func TestIsRSHM(t *testing.T) {
	if !isRSHM(appendHello(nil, testHello())) {
		t.Fatal("hello not recognised")
	}
	// The first 7 bytes of a SETUP: length, stream id 0.
	if isRSHM([]byte{0, 0, 0x30, 0, 0, 0, 0}) {
		t.Fatal("SETUP taken for rshm")
	}
}

func FuzzHello(f *testing.F) {
	f.Add(appendHello(nil, testHello()))
	f.Add(appendHello(nil, hello{version: 3}))
	f.Add([]byte{0, 0, 20, 0, 0, 0, 0, 0x04})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := parseHello(b)
		if err != nil {
			return
		}
		// Whatever parses re-encodes to a message that parses the same.
		h2, err := parseHello(appendHello(nil, h))
		if err != nil || h2 != h {
			t.Fatalf("re-encoded %+v as %+v, %v", h, h2, err)
		}
	})
}

func FuzzReply(f *testing.F) {
	f.Add(appendReply(nil, reply{version: 1, name: "rshm-abc", text: "t", nonce: [16]byte{9}}))
	f.Add(appendReply(nil, reply{version: 1, status: statusFallback, reason: ReasonUser, text: "other user"}))
	f.Add(appendStatus(nil, msgProof, status{version: 1, text: "x"}))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parseReply(b)
		if err == nil {
			r2, err := parseReply(appendReply(nil, r))
			if err != nil || r2 != r {
				t.Fatalf("re-encoded %+v as %+v, %v", r, r2, err)
			}
		}
		for _, typ := range []uint8{msgProof, msgFinal} {
			s, err := parseStatus(b, typ)
			if err != nil {
				continue
			}
			s2, err := parseStatus(appendStatus(nil, typ, s), typ)
			if err != nil || s2 != s {
				t.Fatalf("re-encoded %+v as %+v, %v", s, s2, err)
			}
		}
		var buf [lengthSize + maxMessage]byte
		if m, err := readMessage(bytes.NewReader(b), buf[:]); err == nil && len(m) > len(b) {
			t.Fatalf("readMessage returned %d bytes of %d", len(m), len(b))
		}
	})
}

// TestAwaitFinal: the client's liveness reader accepts an ok final and
// turns a refusal or garbage into an *Error at StepFinal (the client no
// longer waits for the final before it uses the rings).
func TestAwaitFinal(t *testing.T) {
	d, err := shm.CreateDuplex(shm.Config{Dir: t.TempDir()}, 4096)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ok := appendStatus(nil, msgFinal, status{version: Version})
	if err := awaitFinal(bytes.NewReader(ok), d); err != nil {
		t.Fatalf("ok final: %v", err)
	}
	refused := appendStatus(nil, msgFinal, status{version: Version, status: statusFallback, reason: ReasonProof, text: "no nonce"})
	for name, tc := range map[string]struct {
		in   []byte
		want error
	}{
		"refused": {refused, ErrRefused},
		"garbage": {[]byte("not a message at all"), ErrNotRSHM},
		"proof":   {appendStatus(nil, msgProof, status{version: Version}), ErrMalformed},
	} {
		err := awaitFinal(bytes.NewReader(tc.in), d)
		var e *Error
		if !errors.As(err, &e) || e.Step != StepFinal || !errors.Is(err, tc.want) {
			t.Errorf("%s: %v; want an *Error at StepFinal wrapping %v", name, err, tc.want)
		}
	}
}
