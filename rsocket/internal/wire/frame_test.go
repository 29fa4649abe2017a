package wire

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// unhex decodes a hex string with spaces between fields.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// frameDiff describes how got differs from want, or returns "". Metadata and
// ResumeToken are compared with their presence (nil or not); the other byte
// fields by content.
func frameDiff(got, want *Frame) string {
	var d []string
	presence := func(name string, g, w []byte) {
		if (g == nil) != (w == nil) || !bytes.Equal(g, w) {
			d = append(d, name+": got "+q(g)+", want "+q(w))
		}
	}
	content := func(name string, g, w []byte) {
		if !bytes.Equal(g, w) {
			d = append(d, name+": got "+q(g)+", want "+q(w))
		}
	}
	presence("Metadata", got.Metadata, want.Metadata)
	presence("ResumeToken", got.ResumeToken, want.ResumeToken)
	content("Data", got.Data, want.Data)
	content("MetadataMIME", got.MetadataMIME, want.MetadataMIME)
	content("DataMIME", got.DataMIME, want.DataMIME)
	g, w := *got, *want
	g.Metadata, g.Data, g.ResumeToken, g.MetadataMIME, g.DataMIME = nil, nil, nil, nil, nil
	w.Metadata, w.Data, w.ResumeToken, w.MetadataMIME, w.DataMIME = nil, nil, nil, nil, nil
	if !reflect.DeepEqual(g, w) {
		d = append(d, "scalars differ:\n got  "+fmtScalars(&g)+"\n want "+fmtScalars(&w))
	}
	return strings.Join(d, "\n")
}

func q(b []byte) string {
	if b == nil {
		return "nil"
	}
	return "[" + hex.EncodeToString(b) + "]"
}

func fmtScalars(f *Frame) string { return fmt.Sprintf("%+v", *f) }

func TestFrameTypeString(t *testing.T) {
	tests := []struct {
		t    FrameType
		want string
	}{
		{TypeReserved, "RESERVED"}, {TypeSetup, "SETUP"}, {TypeLease, "LEASE"},
		{TypeKeepalive, "KEEPALIVE"}, {TypeRequestResponse, "REQUEST_RESPONSE"},
		{TypeRequestFNF, "REQUEST_FNF"}, {TypeRequestStream, "REQUEST_STREAM"},
		{TypeRequestChannel, "REQUEST_CHANNEL"}, {TypeRequestN, "REQUEST_N"},
		{TypeCancel, "CANCEL"}, {TypePayload, "PAYLOAD"}, {TypeError, "ERROR"},
		{TypeMetadataPush, "METADATA_PUSH"}, {TypeResume, "RESUME"},
		{TypeResumeOK, "RESUME_OK"}, {TypeExt, "EXT"},
		{0x0F, "FrameType(0xf)"}, {0x3E, "FrameType(0x3e)"}, {0xFF, "FrameType(0xff)"},
	}
	for i, tt := range tests {
		if got := tt.t.String(); got != tt.want {
			t.Errorf("%d: FrameType(%#x).String() = %q; want %q", i, uint8(tt.t), got, tt.want)
		}
	}
}

func TestFrameTypeKnown(t *testing.T) {
	for v := 0; v < 64; v++ {
		ft := FrameType(v)
		want := (v >= 1 && v <= 0x0E) || v == 0x3F
		if got := ft.Known(); got != want {
			t.Errorf("%v.Known() = %v; want %v", ft, got, want)
		}
		if got := parsers[v] != nil; got != want {
			t.Errorf("parsers[%v] present = %v; want %v", ft, got, want)
		}
	}
}

func TestErrorCodeString(t *testing.T) {
	tests := []struct {
		c    ErrorCode
		want string
		conn bool
	}{
		{ErrInvalidSetup, "INVALID_SETUP", true},
		{ErrUnsupportedSetup, "UNSUPPORTED_SETUP", true},
		{ErrRejectedSetup, "REJECTED_SETUP", true},
		{ErrRejectedResume, "REJECTED_RESUME", true},
		{ErrConnectionError, "CONNECTION_ERROR", true},
		{ErrConnectionClose, "CONNECTION_CLOSE", true},
		{ErrApplicationError, "APPLICATION_ERROR", false},
		{ErrRejected, "REJECTED", false},
		{ErrCanceled, "CANCELED", false},
		{ErrInvalid, "INVALID", false},
		{0, "0x0", false},
		{0x005, "0x5", false},
		{0x100, "0x100", false},
		{0x301, "0x301", false},
		{0xFFFFFFFF, "0xffffffff", false},
	}
	for i, tt := range tests {
		if got := tt.c.String(); got != tt.want {
			t.Errorf("%d: ErrorCode(%#x).String() = %q; want %q", i, uint32(tt.c), got, tt.want)
		}
		if got := tt.c.ConnectionLevel(); got != tt.conn {
			t.Errorf("%d: %v.ConnectionLevel() = %v; want %v", i, tt.c, got, tt.conn)
		}
	}
}

func TestFlagValues(t *testing.T) {
	// The header's second half-word is |type:6|I|M|flags:8|.
	tests := []struct {
		f    Flags
		want uint16
	}{
		{FlagIgnore, 1 << 9}, {FlagMetadata, 1 << 8}, {FlagFollows, 1 << 7},
		{FlagComplete, 1 << 6}, {FlagNext, 1 << 5},
		{FlagResume, 1 << 7}, {FlagLease, 1 << 6}, {FlagRespond, 1 << 7},
	}
	for i, tt := range tests {
		if uint16(tt.f) != tt.want {
			t.Errorf("%d: flag = %#x; want %#x", i, uint16(tt.f), tt.want)
		}
	}
}

func TestClone(t *testing.T) {
	b := unhex(t, "00000000 0580 0001 0000 00007530 00015f90 0003 746f6b 02 6162 02 6364 000001 6d 64")
	var f Frame
	if err := Parse(b, &f); err != nil {
		t.Fatal(err)
	}
	c := f.Clone()
	for i := range b {
		b[i] = 0xEE
	}
	want := Frame{Type: TypeSetup, Flags: FlagMetadata | FlagResume, MajorVersion: 1,
		KeepaliveInterval: 30000, MaxLifetime: 90000, ResumeToken: []byte("tok"),
		MetadataMIME: []byte("ab"), DataMIME: []byte("cd"), Metadata: []byte("m"), Data: []byte("d")}
	if d := frameDiff(&c, &want); d != "" {
		t.Errorf("clone changed with its source:\n%s", d)
	}

	// Presence survives: an empty non-nil Metadata stays non-nil, nil stays nil.
	var g Frame
	if err := Parse(unhex(t, "00000001 1100 000000"), &g); err != nil {
		t.Fatal(err)
	}
	if c := g.Clone(); c.Metadata == nil || len(c.Metadata) != 0 || c.ResumeToken != nil {
		t.Errorf("Clone: Metadata = %v (nil %v), ResumeToken = %v; want empty non-nil, nil",
			c.Metadata, c.Metadata == nil, c.ResumeToken)
	}
}

func TestAppendLength(t *testing.T) {
	tests := []struct {
		n    int
		want string
	}{
		{0, "000000"}, {6, "000006"}, {0x0102, "000102"}, {0x010203, "010203"}, {MaxFrameLength, "ffffff"},
	}
	for i, tt := range tests {
		got := AppendLength([]byte{0xAA}, tt.n)
		if want := unhex(t, "aa"+tt.want); !bytes.Equal(got, want) {
			t.Errorf("%d: AppendLength(%d) = %x; want %x", i, tt.n, got, want)
		}
		if got := ReadLength(got[1:]); got != tt.n {
			t.Errorf("%d: ReadLength = %d; want %d", i, got, tt.n)
		}
	}
	for _, n := range []int{-1, MaxFrameLength + 1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("AppendLength(%d) did not panic", n)
				}
			}()
			AppendLength(nil, n)
		}()
	}
}

func TestParseErrorMessage(t *testing.T) {
	var f Frame
	err := Parse(unhex(t, "00000001 1800 00000000"), &f)
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("Parse error %T %v; want *ParseError", err, err)
	}
	if pe.Type != TypeRequestStream || !errors.Is(err, ErrMalformed) || errors.Is(err, ErrShort) {
		t.Errorf("ParseError = %+v; want REQUEST_STREAM wrapping ErrMalformed only", pe)
	}
	const want = "wire: REQUEST_STREAM: initial request n is 0: malformed frame"
	if got := err.Error(); got != want {
		t.Errorf("Error() = %q; want %q", got, want)
	}
	// The frame is decoded as far as it goes, so the engine can answer on
	// the right stream.
	if f.StreamID != 1 || f.Type != TypeRequestStream {
		t.Errorf("after error: StreamID %d Type %v; want 1 REQUEST_STREAM", f.StreamID, f.Type)
	}
}
