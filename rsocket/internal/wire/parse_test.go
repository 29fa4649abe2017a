package wire

import (
	"bytes"
	"errors"
	"testing"
)

// goldenFrames are encodings written by hand from the spec's diagrams (see
// parse.go), one or more per frame type, with and without metadata and with
// every flag of the type. Header reminder: u32 stream id, then u16
// type<<10 | I 0x200 | M 0x100 | 0x80 | 0x40 | 0x20 ...
var goldenFrames = []struct {
	name string
	hex  string
	want Frame
}{
	{"SETUP lease", "00000000 0440 0001 0000 00007530 00015f90 02 6162 02 6364 6869",
		Frame{Type: TypeSetup, Flags: FlagLease, MajorVersion: 1, MinorVersion: 0,
			KeepaliveInterval: 30000, MaxLifetime: 90000,
			MetadataMIME: []byte("ab"), DataMIME: []byte("cd"), Data: []byte("hi")}},
	{"SETUP metadata resume", "00000000 0580 0001 0000 00007530 00015f90 0003 746f6b 02 6162 02 6364 000001 6d 64",
		Frame{Type: TypeSetup, Flags: FlagMetadata | FlagResume, MajorVersion: 1,
			KeepaliveInterval: 30000, MaxLifetime: 90000, ResumeToken: []byte("tok"),
			MetadataMIME: []byte("ab"), DataMIME: []byte("cd"), Metadata: []byte("m"), Data: []byte("d")}},
	{"SETUP empty token empty MIMEs", "00000000 0480 0001 0002 7fffffff 00000001 0000 00 00",
		Frame{Type: TypeSetup, Flags: FlagResume, MajorVersion: 1, MinorVersion: 2,
			KeepaliveInterval: MaxStreamID, MaxLifetime: 1, ResumeToken: []byte{}}},
	{"LEASE", "00000000 0800 000003e8 0000000a",
		Frame{Type: TypeLease, TTL: 1000, NumRequests: 10}},
	{"LEASE metadata", "00000000 0900 000003e8 7fffffff 6d6d",
		Frame{Type: TypeLease, Flags: FlagMetadata, TTL: 1000, NumRequests: MaxRequestN, Metadata: []byte("mm")}},
	{"KEEPALIVE respond", "00000000 0c80 0000000000000010 6b61",
		Frame{Type: TypeKeepalive, Flags: FlagRespond, LastPosition: 16, Data: []byte("ka")}},
	{"KEEPALIVE", "00000000 0c00 7fffffffffffffff",
		Frame{Type: TypeKeepalive, LastPosition: MaxPosition}},
	{"REQUEST_RESPONSE", "00000001 1000 68656c6c6f",
		Frame{StreamID: 1, Type: TypeRequestResponse, Data: []byte("hello")}},
	{"REQUEST_RESPONSE metadata", "00000001 1100 000002 6d64 64",
		Frame{StreamID: 1, Type: TypeRequestResponse, Flags: FlagMetadata, Metadata: []byte("md"), Data: []byte("d")}},
	{"REQUEST_FNF follows", "00000003 1480 61",
		Frame{StreamID: 3, Type: TypeRequestFNF, Flags: FlagFollows, Data: []byte("a")}},
	{"REQUEST_STREAM empty metadata", "00000005 1900 7fffffff 000000 62",
		Frame{StreamID: 5, Type: TypeRequestStream, Flags: FlagMetadata, InitialN: MaxRequestN,
			Metadata: []byte{}, Data: []byte("b")}},
	{"REQUEST_CHANNEL follows complete", "00000007 1cc0 00000001",
		Frame{StreamID: 7, Type: TypeRequestChannel, Flags: FlagFollows | FlagComplete, InitialN: 1}},
	{"REQUEST_CHANNEL metadata", "7fffffff 1d00 00000002 000001 41 42",
		Frame{StreamID: MaxStreamID, Type: TypeRequestChannel, Flags: FlagMetadata, InitialN: 2,
			Metadata: []byte("A"), Data: []byte("B")}},
	{"REQUEST_N", "00000009 2000 00000064",
		Frame{StreamID: 9, Type: TypeRequestN, N: 100}},
	{"CANCEL", "0000000b 2400",
		Frame{StreamID: 11, Type: TypeCancel}},
	{"CANCEL undefined flag kept", "0000000b 2401",
		Frame{StreamID: 11, Type: TypeCancel, Flags: 0x001}},
	{"PAYLOAD next complete metadata", "00000002 2960 000003 616263 78797a",
		Frame{StreamID: 2, Type: TypePayload, Flags: FlagMetadata | FlagComplete | FlagNext,
			Metadata: []byte("abc"), Data: []byte("xyz")}},
	{"PAYLOAD complete", "00000002 2840",
		Frame{StreamID: 2, Type: TypePayload, Flags: FlagComplete}},
	{"PAYLOAD follows next", "00000004 28a0 0102",
		Frame{StreamID: 4, Type: TypePayload, Flags: FlagFollows | FlagNext, Data: []byte{1, 2}}},
	{"ERROR connection", "00000000 2c00 00000101 626164",
		Frame{Type: TypeError, ErrorCode: ErrConnectionError, Data: []byte("bad")}},
	{"ERROR application", "00000001 2c00 00000201 78",
		Frame{StreamID: 1, Type: TypeError, ErrorCode: ErrApplicationError, Data: []byte("x")}},
	{"METADATA_PUSH", "00000000 3100 6d70",
		Frame{Type: TypeMetadataPush, Flags: FlagMetadata, Metadata: []byte("mp")}},
	{"METADATA_PUSH empty", "00000000 3100",
		Frame{Type: TypeMetadataPush, Flags: FlagMetadata, Metadata: []byte{}}},
	{"RESUME", "00000000 3400 0001 0000 0002 7466 0000000000000100 0000000000000080",
		Frame{Type: TypeResume, MajorVersion: 1, ResumeToken: []byte("tf"),
			LastPosition: 0x100, FirstAvailablePosition: 0x80}},
	{"RESUME_OK", "00000000 3800 0000000000000200",
		Frame{Type: TypeResumeOK, LastPosition: 0x200}},
	{"EXT ignore metadata", "00000001 ff00 00000007 000001 41 42",
		Frame{StreamID: 1, Type: TypeExt, Flags: FlagIgnore | FlagMetadata, ExtendedType: 7,
			Metadata: []byte("A"), Data: []byte("B")}},
	{"EXT", "00000000 fc00 7fffffff",
		Frame{Type: TypeExt, ExtendedType: MaxStreamID}},
}

func TestGoldenParse(t *testing.T) {
	for _, tt := range goldenFrames {
		b := unhex(t, tt.hex)
		var got Frame
		if err := Parse(b, &got); err != nil {
			t.Errorf("%s: Parse(%x): %v", tt.name, b, err)
			continue
		}
		if d := frameDiff(&got, &tt.want); d != "" {
			t.Errorf("%s: Parse(%x):\n%s", tt.name, b, d)
		}
		if err := got.CheckStream(); err != nil {
			t.Errorf("%s: CheckStream: %v", tt.name, err)
		}
	}
}

func TestGoldenAppend(t *testing.T) {
	for _, tt := range goldenFrames {
		want := unhex(t, tt.hex)
		if got := Size(&tt.want); got != len(want) {
			t.Errorf("%s: Size = %d; want %d", tt.name, got, len(want))
		}
		if got := Append(nil, &tt.want); !bytes.Equal(got, want) {
			t.Errorf("%s: Append = %x; want %x", tt.name, got, want)
		}
		prefix := []byte{0xAA, 0xBB}
		if got := Append(prefix, &tt.want); !bytes.Equal(got, append([]byte{0xAA, 0xBB}, want...)) {
			t.Errorf("%s: Append after prefix = %x; want aabb%x", tt.name, got, want)
		}
	}
}

// TestGoldenSpecificAppend checks that every hot-path encoder writes the same
// bytes as the hand-written goldens.
func TestGoldenSpecificAppend(t *testing.T) {
	tests := []struct {
		name string
		got  []byte
		hex  string
	}{
		{"AppendHeader", AppendHeader(nil, 11, TypeCancel, 0), "0000000b 2400"},
		{"AppendHeader masks", AppendHeader(nil, 0x8000000b, TypeCancel, 0xFC00|FlagMetadata), "0000000b 2500"},
		{"AppendCancel", AppendCancel(nil, 11), "0000000b 2400"},
		{"AppendRequestN", AppendRequestN(nil, 9, 100), "00000009 2000 00000064"},
		{"AppendPayload", AppendPayload(nil, 2, FlagComplete|FlagNext, []byte("abc"), []byte("xyz")),
			"00000002 2960 000003 616263 78797a"},
		{"AppendPayload M from metadata only", AppendPayload(nil, 2, FlagComplete|FlagMetadata, nil, nil),
			"00000002 2840"},
		{"AppendPayload empty metadata", AppendPayload(nil, 4, FlagNext, []byte{}, []byte{1, 2}),
			"00000004 2920 000000 0102"},
		{"AppendRequest RR", AppendRequest(nil, TypeRequestResponse, 1, 0, 99, []byte("md"), []byte("d")),
			"00000001 1100 000002 6d64 64"},
		{"AppendRequest FNF", AppendRequest(nil, TypeRequestFNF, 3, FlagFollows, 99, nil, []byte("a")),
			"00000003 1480 61"},
		{"AppendRequest STREAM", AppendRequest(nil, TypeRequestStream, 5, 0, MaxRequestN, []byte{}, []byte("b")),
			"00000005 1900 7fffffff 000000 62"},
		{"AppendRequest CHANNEL", AppendRequest(nil, TypeRequestChannel, 7, FlagFollows|FlagComplete, 1, nil, nil),
			"00000007 1cc0 00000001"},
		{"AppendError", AppendError(nil, 0, ErrConnectionError, "bad"), "00000000 2c00 00000101 626164"},
		{"AppendKeepalive respond", AppendKeepalive(nil, true, 16, []byte("ka")), "00000000 0c80 0000000000000010 6b61"},
		{"AppendKeepalive", AppendKeepalive(nil, false, MaxPosition, nil), "00000000 0c00 7fffffffffffffff"},
		{"AppendLease", AppendLease(nil, 1000, 10, nil), "00000000 0800 000003e8 0000000a"},
		{"AppendLease metadata", AppendLease(nil, 1000, MaxRequestN, []byte("mm")), "00000000 0900 000003e8 7fffffff 6d6d"},
		{"AppendMetadataPush", AppendMetadataPush(nil, []byte("mp")), "00000000 3100 6d70"},
		{"AppendResume", AppendResume(nil, 1, 0, []byte("tf"), 0x100, 0x80),
			"00000000 3400 0001 0000 0002 7466 0000000000000100 0000000000000080"},
		{"AppendResumeOK", AppendResumeOK(nil, 0x200), "00000000 3800 0000000000000200"},
		{"AppendSetup", AppendSetup(nil, &Frame{StreamID: 9, Type: TypePayload, Flags: FlagLease,
			MajorVersion: 1, KeepaliveInterval: 30000, MaxLifetime: 90000,
			MetadataMIME: []byte("ab"), DataMIME: []byte("cd"), Data: []byte("hi")}),
			"00000000 0440 0001 0000 00007530 00015f90 02 6162 02 6364 6869"},
		{"AppendSetup R from token", AppendSetup(nil, &Frame{Flags: FlagMetadata | FlagResume,
			MajorVersion: 1, KeepaliveInterval: 30000, MaxLifetime: 90000}),
			"00000000 0400 0001 0000 00007530 00015f90 00 00"},
	}
	for _, tt := range tests {
		if want := unhex(t, tt.hex); !bytes.Equal(tt.got, want) {
			t.Errorf("%s = %x; want %x", tt.name, tt.got, want)
		}
	}
	if got, want := PayloadSize([]byte("abc"), []byte("xyz")), 15; got != want {
		t.Errorf("PayloadSize = %d; want %d", got, want)
	}
	if got, want := PayloadSize(nil, []byte("xyz")), 9; got != want {
		t.Errorf("PayloadSize(nil) = %d; want %d", got, want)
	}
	if got, want := RequestSize(TypeRequestStream, []byte{}, []byte("b")), 14; got != want {
		t.Errorf("RequestSize(STREAM) = %d; want %d", got, want)
	}
	if got, want := RequestSize(TypeRequestFNF, nil, []byte("a")), 7; got != want {
		t.Errorf("RequestSize(FNF) = %d; want %d", got, want)
	}
}

// TestParseLeaseWithoutM: rsocket-js 0.0.27 sends LEASE metadata with flags 0
// and reads trailing bytes as metadata; so do we. Append writes M.
func TestParseLeaseWithoutM(t *testing.T) {
	var f Frame
	if err := Parse(unhex(t, "00000000 0800 000003e8 0000000a 6d6d"), &f); err != nil {
		t.Fatal(err)
	}
	want := Frame{Type: TypeLease, TTL: 1000, NumRequests: 10, Metadata: []byte("mm")}
	if d := frameDiff(&f, &want); d != "" {
		t.Errorf("Parse:\n%s", d)
	}
	if got, want := Append(nil, &f), unhex(t, "00000000 0900 000003e8 0000000a 6d6d"); !bytes.Equal(got, want) {
		t.Errorf("Append = %x; want %x", got, want)
	}
}

func TestParseReservedStreamBit(t *testing.T) {
	var f Frame
	if err := Parse(unhex(t, "80000001 2400"), &f); err != nil {
		t.Fatal(err)
	}
	if f.StreamID != 1 {
		t.Errorf("StreamID = %#x; want 1 (reserved bit masked)", f.StreamID)
	}
}

func TestParseUnknownType(t *testing.T) {
	tests := []struct {
		hex   string
		t     FrameType
		flags Flags
		data  string
	}{
		{"00000000 0000", TypeReserved, 0, ""},
		{"00000003 4200 0102", 0x10, FlagIgnore, "0102"},
		{"00000003 3c00 ff", 0x0F, 0, "ff"},
		{"00000000 fa80", 0x3E, FlagIgnore | FlagFollows, ""},
	}
	for i, tt := range tests {
		var f Frame
		err := Parse(unhex(t, tt.hex), &f)
		if !errors.Is(err, ErrUnknownType) {
			t.Errorf("%d: Parse(%s) = %v; want ErrUnknownType", i, tt.hex, err)
		}
		if f.Type != tt.t || f.Flags != tt.flags || !bytes.Equal(f.Data, unhex(t, tt.data)) {
			t.Errorf("%d: got type %v flags %#x data %x; want %v %#x %s", i, f.Type, f.Flags, f.Data, tt.t, tt.flags, tt.data)
		}
		// An unknown frame is re-encoded verbatim.
		if got := Append(nil, &f); !bytes.Equal(got, unhex(t, tt.hex)) {
			t.Errorf("%d: Append = %x; want %s", i, got, tt.hex)
		}
	}
}

func TestParseMalformed(t *testing.T) {
	tests := []struct {
		name string
		hex  string
		want error
	}{
		{"empty", "", ErrShort},
		{"short header", "00000001 24", ErrShort},
		{"metadata length cut", "00000001 1100 0000", ErrShort},
		{"metadata length past end", "00000001 1100 000005 6162", ErrMetadataPastEnd},
		{"payload metadata length past end", "00000001 2920 000001", ErrMetadataPastEnd},
		{"SETUP fixed part cut", "00000000 0400 0001 0000", ErrShort},
		{"SETUP keepalive reserved bit", "00000000 0400 0001 0000 80007530 00015f90 00 00", ErrMalformed},
		{"SETUP lifetime reserved bit", "00000000 0400 0001 0000 00007530 80015f90 00 00", ErrMalformed},
		{"SETUP token length cut", "00000000 0480 0001 0000 00007530 00015f90 00", ErrShort},
		{"SETUP token past end", "00000000 0480 0001 0000 00007530 00015f90 0010 74", ErrShort},
		{"SETUP metadata MIME missing", "00000000 0400 0001 0000 00007530 00015f90", ErrShort},
		{"SETUP metadata MIME past end", "00000000 0400 0001 0000 00007530 00015f90 05 6162", ErrShort},
		{"SETUP data MIME missing", "00000000 0400 0001 0000 00007530 00015f90 02 6162", ErrShort},
		{"SETUP data MIME past end", "00000000 0400 0001 0000 00007530 00015f90 02 6162 03 63", ErrShort},
		{"SETUP metadata past end", "00000000 0500 0001 0000 00007530 00015f90 00 00 000009 00", ErrMetadataPastEnd},
		{"LEASE cut", "00000000 0800 000003e8 0000", ErrShort},
		{"LEASE TTL reserved bit", "00000000 0800 800003e8 0000000a", ErrMalformed},
		{"LEASE n reserved bit", "00000000 0800 000003e8 8000000a", ErrMalformed},
		{"KEEPALIVE cut", "00000000 0c80 00000000000000", ErrShort},
		{"KEEPALIVE position reserved bit", "00000000 0c80 8000000000000000", ErrMalformed},
		{"REQUEST_STREAM n cut", "00000001 1800 0000", ErrShort},
		{"REQUEST_STREAM n is 0", "00000001 1800 00000000", ErrMalformed},
		{"REQUEST_STREAM n reserved bit", "00000001 1800 80000001", ErrMalformed},
		{"REQUEST_STREAM metadata past end", "00000001 1900 00000001 000004 00", ErrMetadataPastEnd},
		{"REQUEST_CHANNEL n is 0", "00000001 1c00 00000000 61", ErrMalformed},
		{"REQUEST_N cut", "00000001 2000 000001", ErrShort},
		{"REQUEST_N is 0", "00000001 2000 00000000", ErrMalformed},
		{"REQUEST_N reserved bit", "00000001 2000 80000001", ErrMalformed},
		{"REQUEST_N trailing", "00000001 2000 00000001 00", ErrMalformed},
		{"CANCEL trailing", "00000001 2400 00", ErrMalformed},
		{"ERROR cut", "00000001 2c00 000002", ErrShort},
		{"RESUME cut", "00000000 3400 0001 0000 00", ErrShort},
		{"RESUME token past end", "00000000 3400 0001 0000 0009 7466", ErrShort},
		{"RESUME positions cut", "00000000 3400 0001 0000 0000 0000000000000100 00000000000000", ErrShort},
		{"RESUME trailing", "00000000 3400 0001 0000 0000 0000000000000100 0000000000000080 00", ErrMalformed},
		{"RESUME server position reserved bit", "00000000 3400 0001 0000 0000 8000000000000100 0000000000000080", ErrMalformed},
		{"RESUME client position reserved bit", "00000000 3400 0001 0000 0000 0000000000000100 8000000000000080", ErrMalformed},
		{"RESUME_OK cut", "00000000 3800 00000000000002", ErrShort},
		{"RESUME_OK trailing", "00000000 3800 0000000000000200 00", ErrMalformed},
		{"RESUME_OK reserved bit", "00000000 3800 8000000000000200", ErrMalformed},
		{"EXT cut", "00000000 fc00 000000", ErrShort},
		{"EXT type reserved bit", "00000000 fc00 80000001", ErrMalformed},
		{"EXT metadata past end", "00000000 fd00 00000001 000002 00", ErrMetadataPastEnd},
	}
	for _, tt := range tests {
		var f Frame
		err := Parse(unhex(t, tt.hex), &f)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: Parse(%s) = %v; want %v", tt.name, tt.hex, err, tt.want)
			continue
		}
		if errors.Is(err, ErrMetadataPastEnd) != (tt.want == ErrMetadataPastEnd) {
			t.Errorf("%s: Parse(%s) = %v; ErrMetadataPastEnd only for a metadata length past the end", tt.name, tt.hex, err)
		}
		if tt.want == ErrMetadataPastEnd && !errors.Is(err, ErrShort) {
			t.Errorf("%s: %v is not also ErrShort", tt.name, err)
		}
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Reason == "" {
			t.Errorf("%s: error %v is not a *ParseError with a reason", tt.name, err)
		}
		if len(tt.hex) >= 12 {
			if b := unhex(t, tt.hex); pe.Type != FrameType(b[4]>>2) {
				t.Errorf("%s: ParseError.Type = %v; want %v", tt.name, pe.Type, FrameType(b[4]>>2))
			}
		}
	}
}

// TestParseResetsFrame checks that Parse overwrites every field, so a reused
// Frame carries nothing over from the previous frame.
func TestParseResetsFrame(t *testing.T) {
	var f Frame
	if err := Parse(unhex(t, goldenFrames[1].hex), &f); err != nil {
		t.Fatal(err)
	}
	if err := Parse(unhex(t, "0000000b 2400"), &f); err != nil {
		t.Fatal(err)
	}
	want := Frame{StreamID: 11, Type: TypeCancel}
	if d := frameDiff(&f, &want); d != "" || f.Data != nil || f.MetadataMIME != nil {
		t.Errorf("reused Frame:\n%s", d)
	}
}

func TestCheckStream(t *testing.T) {
	tests := []struct {
		t      FrameType
		zeroOK bool
		nonOK  bool
	}{
		{TypeSetup, true, false}, {TypeLease, true, false}, {TypeKeepalive, true, false},
		{TypeRequestResponse, false, true}, {TypeRequestFNF, false, true},
		{TypeRequestStream, false, true}, {TypeRequestChannel, false, true},
		{TypeRequestN, false, true}, {TypeCancel, false, true}, {TypePayload, false, true},
		{TypeError, true, true}, {TypeMetadataPush, true, false},
		{TypeResume, true, false}, {TypeResumeOK, true, false}, {TypeExt, true, true},
	}
	for _, tt := range tests {
		for _, id := range []uint32{0, 1, 2, MaxStreamID} {
			f := Frame{Type: tt.t, StreamID: id}
			err := f.CheckStream()
			ok := tt.zeroOK
			if id != 0 {
				ok = tt.nonOK
			}
			if ok && err != nil || !ok && !errors.Is(err, ErrWrongStream) {
				t.Errorf("%v on stream %d: CheckStream = %v; want ok=%v", tt.t, id, err, ok)
			}
		}
	}
}

func TestValidateSetup(t *testing.T) {
	good := Frame{Type: TypeSetup, MajorVersion: 1, KeepaliveInterval: 1, MaxLifetime: 1,
		MetadataMIME: []byte("message/x.rsocket.composite-metadata.v0"), DataMIME: []byte("application/json")}
	if err := good.ValidateSetup(); err != nil {
		t.Fatalf("ValidateSetup(good) = %v", err)
	}
	tests := []struct {
		name   string
		mutate func(f *Frame)
	}{
		{"not SETUP", func(f *Frame) { f.Type = TypeResume }},
		{"major 0", func(f *Frame) { f.MajorVersion = 0 }},
		{"major 2", func(f *Frame) { f.MajorVersion = 2 }},
		{"keepalive 0", func(f *Frame) { f.KeepaliveInterval = 0 }},
		{"lifetime 0", func(f *Frame) { f.MaxLifetime = 0 }},
		{"metadata MIME not ASCII", func(f *Frame) { f.MetadataMIME = []byte("caf\xc3\xa9") }},
		{"data MIME not ASCII", func(f *Frame) { f.DataMIME = []byte{0x80} }},
	}
	for _, tt := range tests {
		f := good
		tt.mutate(&f)
		if err := f.ValidateSetup(); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: ValidateSetup = %v; want ErrMalformed", tt.name, err)
		}
	}
	f := good
	f.MinorVersion = 7
	if err := f.ValidateSetup(); err != nil {
		t.Errorf("minor 7: ValidateSetup = %v; want nil (minor versions are compatible)", err)
	}
}

func TestAppendPanicsOnOverlongFields(t *testing.T) {
	tests := []struct {
		name string
		f    func()
	}{
		{"MIME", func() { AppendSetup(nil, &Frame{MetadataMIME: make([]byte, 256)}) }},
		{"token", func() { AppendSetup(nil, &Frame{ResumeToken: make([]byte, 1<<16)}) }},
		{"metadata", func() { AppendPayload(nil, 1, 0, make([]byte, MaxMetadataLength+1), nil) }},
	}
	for _, tt := range tests {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", tt.name)
				}
			}()
			tt.f()
		}()
	}
	// The limits themselves are fine.
	if n := len(AppendSetup(nil, &Frame{MetadataMIME: make([]byte, 255), ResumeToken: make([]byte, 0xFFFF)})); n != 6+12+2+0xFFFF+1+255+1 {
		t.Errorf("SETUP at limits: %d bytes", n)
	}
}

// rsocket-js 0.0.27 sends METADATA_PUSH with M clear; the body is still the
// metadata.
func TestMetadataPushWithoutM(t *testing.T) {
	var f Frame
	if err := Parse([]byte{0, 0, 0, 0, 0x30, 0x00, 'p', 'u'}, &f); err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if string(f.Metadata) != "pu" || f.Flags&FlagMetadata == 0 {
		t.Fatalf("got metadata %q flags %#x; want \"pu\" with M", f.Metadata, f.Flags)
	}
}
