package cli

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
	"unicode/utf8"
)

// enc builds a frame: the header, then the fields, each a []byte, a
// string, a uint8, uint16, uint32, uint64, or u24 (a 24-bit length).
func enc(id uint32, t frameType, flags uint16, fields ...any) []byte {
	b := binary.BigEndian.AppendUint32(nil, id)
	b = binary.BigEndian.AppendUint16(b, uint16(t)<<10|flags)
	for _, f := range fields {
		switch v := f.(type) {
		case []byte:
			b = append(b, v...)
		case string:
			b = append(b, v...)
		case uint8:
			b = append(b, v)
		case uint16:
			b = binary.BigEndian.AppendUint16(b, v)
		case uint32:
			b = binary.BigEndian.AppendUint32(b, v)
		case uint64:
			b = binary.BigEndian.AppendUint64(b, v)
		case u24:
			b = append(b, byte(v>>16), byte(v>>8), byte(v))
		default:
			panic("enc: bad field")
		}
	}
	return b
}

type u24 uint32

// frameTests are one well-formed frame of every type, with the dump line
// each gets.
var frameTests = []struct {
	name  string
	frame []byte
	line  string
}{
	{"setup",
		enc(0, typeSetup, flagMetadata, uint16(1), uint16(0), uint32(20000), uint32(90000), uint8(3), "m/x", uint8(4), "d/yy", u24(2), "md", "data"),
		`SETUP stream=0 flags=M len=36 version=1.0 keepalive=20s lifetime=1m30s metadataMIME="m/x" dataMIME="d/yy" metadata=2 "md" data=4 "data"`},
	{"setupResumeLease",
		enc(0, typeSetup, flag80|flag40, uint16(1), uint16(0), uint32(1500), uint32(4500), uint16(3), "tok", uint8(0), uint8(0)),
		`SETUP stream=0 flags=R|L len=25 version=1.0 keepalive=1.5s lifetime=4.5s token=3 metadataMIME="" dataMIME="" data=0`},
	{"lease",
		enc(0, typeLease, flagMetadata, uint32(60000), uint32(5), "lm"),
		`LEASE stream=0 flags=M len=16 ttl=1m0s n=5 metadata=2 "lm"`},
	{"keepalive",
		enc(0, typeKeepalive, flag80, uint64(1234), "ka"),
		`KEEPALIVE stream=0 flags=R len=16 position=1234 data=2 "ka"`},
	{"requestResponse",
		enc(1, typeRequestResponse, flagMetadata, u24(1), "m", "hi"),
		`REQUEST_RESPONSE stream=1 flags=M len=12 metadata=1 "m" data=2 "hi"`},
	{"requestFNF",
		enc(3, typeRequestFNF, flag80, "frag"),
		`REQUEST_FNF stream=3 flags=F len=10 data=4 "frag"`},
	{"requestStream",
		enc(5, typeRequestStream, 0, uint32(64), "count:3"),
		`REQUEST_STREAM stream=5 flags=0 len=17 n=64 data=7 "count:3"`},
	{"requestChannel",
		enc(7, typeRequestChannel, flag40, uint32(1)),
		`REQUEST_CHANNEL stream=7 flags=C len=10 n=1 data=0`},
	{"requestN",
		enc(7, typeRequestN, 0, uint32(32)),
		`REQUEST_N stream=7 flags=0 len=10 n=32`},
	{"cancel",
		enc(9, typeCancel, 0),
		`CANCEL stream=9 flags=0 len=6`},
	{"payload",
		enc(2, typePayload, flag40|flag20, "line\none \"quoted\""),
		`PAYLOAD stream=2 flags=C|N len=23 data=17 "line\none \"quoted\""`},
	{"payloadLong",
		enc(2, typePayload, flag20, strings.Repeat("x", 40)),
		`PAYLOAD stream=2 flags=N len=46 data=40 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"…`},
	{"error",
		enc(1, typeError, 0, uint32(0x201), "boom"),
		`ERROR stream=1 flags=0 len=14 code=APPLICATION_ERROR data=4 "boom"`},
	{"errorCustom",
		enc(1, typeError, 0, uint32(0x301), ""),
		`ERROR stream=1 flags=0 len=10 code=0x301 data=0`},
	{"metadataPush",
		enc(0, typeMetadataPush, flagMetadata, "\xfe\x00\x00\x01x"),
		`METADATA_PUSH stream=0 flags=M len=11 metadata=5 "\xfe\x00\x00\x01x"`},
	{"metadataPushWithoutM", // as rsocket-js sends it
		enc(0, typeMetadataPush, 0, "mp"),
		`METADATA_PUSH stream=0 flags=0 len=8 metadata=2 "mp"`},
	{"resume",
		enc(0, typeResume, 0, uint16(1), uint16(0), uint16(2), "tk", uint64(10), uint64(20)),
		`RESUME stream=0 flags=0 len=30 version=1.0 token=2 lastReceived=10 firstAvailable=20`},
	{"resumeOK",
		enc(0, typeResumeOK, 0, uint64(99)),
		`RESUME_OK stream=0 flags=0 len=14 position=99`},
	{"ext",
		enc(11, typeExt, flagIgnore, uint32(7), "e"),
		`EXT stream=11 flags=I len=11 extendedType=7 data=1 "e"`},
	{"unknownType",
		enc(1, 0x1F, 0x0FF, "?"),
		`TYPE_0x1f stream=1 flags=0xff len=7 data=1 "?"`},
	{"reservedStreamBit",
		enc(0x80000001, typeCancel, 0),
		`CANCEL stream=1 flags=0 len=6`},
}

func TestAppendFrame(t *testing.T) {
	for _, tt := range frameTests {
		if _, err := parseFrame(tt.frame); err != nil {
			t.Errorf("%s: parseFrame: %v", tt.name, err)
		}
		for _, out := range []bool{true, false} {
			want := "<- " + tt.line + "\n"
			if out {
				want = "-> " + tt.line + "\n"
			}
			if got := string(appendFrame(nil, out, tt.frame)); got != want {
				t.Errorf("%s:\ngot  %s\nwant %s", tt.name, got, want)
			}
		}
	}
}

func TestParseFrameFields(t *testing.T) {
	f, err := parseFrame(frameTests[0].frame)
	if err != nil {
		t.Fatal(err)
	}
	if f.StreamID != 0 || f.Type != typeSetup || f.Flags != flagMetadata || f.Major != 1 || f.Minor != 0 ||
		f.Keepalive != 20000 || f.Lifetime != 90000 || string(f.MetadataMIME) != "m/x" || string(f.DataMIME) != "d/yy" ||
		!f.HasMetadata || string(f.Metadata) != "md" || string(f.Data) != "data" {
		t.Errorf("SETUP decoded as %+v", f)
	}
	f, err = parseFrame(enc(1, typeRequestResponse, 0, "plain"))
	if err != nil || f.HasMetadata || f.Metadata != nil || string(f.Data) != "plain" {
		t.Errorf("REQUEST_RESPONSE without M: %+v, %v", f, err)
	}
}

// TestParseFrameMalformed: a frame shorter than its fields is described
// by its header and "malformed", never an out-of-range slice.
func TestParseFrameMalformed(t *testing.T) {
	for _, tt := range []struct {
		frame []byte
		line  string
	}{
		{[]byte{0, 0, 0}, "-> short frame len=3\n"},
		{enc(1, typeRequestResponse, flagMetadata, u24(10), "abc"), "-> REQUEST_RESPONSE stream=1 flags=M len=12 malformed: frame too short\n"},
		{enc(1, typeRequestStream, 0, uint16(1)), "-> REQUEST_STREAM stream=1 flags=0 len=8 malformed: frame too short\n"},
		{enc(0, typeSetup, 0, uint16(1), uint16(0), uint32(1), uint32(1), uint8(9), "short"), "-> SETUP stream=0 flags=0 len=24 malformed: frame too short\n"},
		{enc(0, typeResume, 0, uint16(1), uint16(0), uint16(100)), "-> RESUME stream=0 flags=0 len=12 malformed: frame too short\n"},
		{enc(0, typeKeepalive, 0, uint32(1)), "-> KEEPALIVE stream=0 flags=0 len=10 malformed: frame too short\n"},
	} {
		if got := string(appendFrame(nil, true, tt.frame)); got != tt.line {
			t.Errorf("got  %q\nwant %q", got, tt.line)
		}
	}
}

// FuzzParseFrame: any input decodes without panicking into views inside
// it, and its dump is one line of printable UTF-8.
func FuzzParseFrame(f *testing.F) {
	for _, tt := range frameTests {
		f.Add(tt.frame)
		f.Add(tt.frame[:len(tt.frame)-1])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := parseFrame(b)
		if err == nil {
			if len(fr.Metadata)+len(fr.Data)+len(fr.Token)+len(fr.MetadataMIME)+len(fr.DataMIME) > max(len(b)-headerSize, 0) {
				t.Fatalf("views longer than the frame: %+v", fr)
			}
			for _, v := range [][]byte{fr.Metadata, fr.Data, fr.Token, fr.MetadataMIME, fr.DataMIME} {
				if len(v) > 0 && !within(v, b) {
					t.Fatalf("a view is not inside the input: %+v", fr)
				}
			}
		}
		line := appendFrame(nil, false, b)
		if !bytes.HasSuffix(line, []byte("\n")) || bytes.Count(line, []byte("\n")) != 1 || !utf8.Valid(line) {
			t.Fatalf("dump is not one UTF-8 line: %q", line)
		}
		for _, r := range string(line[:len(line)-1]) {
			if r < ' ' || r == 0x7f {
				t.Fatalf("dump holds control character %q: %q", r, line)
			}
		}
	})
}

// within reports whether v is a subslice of b.
func within(v, b []byte) bool {
	for i := range b {
		if &b[i] == &v[0] {
			return i+len(v) <= len(b)
		}
	}
	return false
}

func TestParseFrameAllocs(t *testing.T) {
	for _, tt := range frameTests {
		if n := testing.AllocsPerRun(10, func() { _, _ = parseFrame(tt.frame) }); n != 0 {
			t.Errorf("%s: parseFrame allocates %v times", tt.name, n)
		}
	}
}
