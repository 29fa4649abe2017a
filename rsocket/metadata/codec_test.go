package metadata

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestMimeTable(t *testing.T) {
	tests := []struct {
		id   MimeType
		name string
	}{
		{ApplicationAvro, "application/avro"},
		{ApplicationJSON, "application/json"},
		{ApplicationThrift, "application/vnd.apache.thrift.binary"},
		{ImageTIFF, "image/tiff"},
		{VideoH264, "video/H264"},
		{VideoVP8, "video/VP8"},
		{ApplicationCloudeventsJSON, "application/cloudevents+json"},
		{MessageMimeType, "message/x.rsocket.mime-type.v0"},
		{MessageAcceptMimeTypes, "message/x.rsocket.accept-mime-types.v0"},
		{MessageAuthentication, "message/x.rsocket.authentication.v0"},
		{MessageZipkin, "message/x.rsocket.tracing-zipkin.v0"},
		{MessageRouting, "message/x.rsocket.routing.v0"},
		{MessageComposite, "message/x.rsocket.composite-metadata.v0"},
	}
	for i, tt := range tests {
		if got := tt.id.String(); got != tt.name {
			t.Errorf("%d: MimeType(0x%x).String() = %q; want %q", i, uint8(tt.id), got, tt.name)
		}
		if got, ok := LookupMimeType(tt.name); !ok || got != tt.id {
			t.Errorf("%d: LookupMimeType(%q) = 0x%x, %v; want 0x%x", i, tt.name, uint8(got), ok, uint8(tt.id))
		}
	}
	// Every named id round-trips; the named ids are exactly 0x00..0x28 and
	// 0x7A..0x7F.
	n := 0
	for id := MimeType(0); id <= MaxMimeType; id++ {
		want := id <= 0x28 || id >= 0x7A
		if id.Known() != want {
			t.Errorf("MimeType(0x%x).Known() = %v; want %v", uint8(id), id.Known(), want)
		}
		if id.Known() {
			n++
			if back, ok := LookupMimeType(id.Name()); !ok || back != id {
				t.Errorf("round trip of 0x%x: 0x%x, %v", uint8(id), uint8(back), ok)
			}
		}
	}
	if n != 47 {
		t.Errorf("%d named ids; want 47", n)
	}
	if got := MimeType(0x40).String(); got != "MimeType(0x40)" {
		t.Errorf("reserved String() = %q", got)
	}
	if got := MimeType(0x80).Name(); got != "" {
		t.Errorf("MimeType(0x80).Name() = %q; want empty", got)
	}
	for _, name := range []string{"Application/JSON", "application/json ", "", "text/x-custom"} {
		if _, ok := LookupMimeType(name); ok {
			t.Errorf("LookupMimeType(%q) found an id", name)
		}
	}
}

func TestCompositeEncode(t *testing.T) {
	tests := []struct {
		mime    string
		content string
		want    []byte
	}{
		// Well-known name: the id with M set.
		{"message/x.rsocket.routing.v0", "\x04echo", []byte{0xFE, 0, 0, 5, 4, 'e', 'c', 'h', 'o'}},
		{"application/json", "", []byte{0x85, 0, 0, 0}},
		// Custom: length minus one, name, u24 length.
		{"a/b", "xy", []byte{0x02, 'a', '/', 'b', 0, 0, 2, 'x', 'y'}},
	}
	for i, tt := range tests {
		got, err := AppendComposite([]byte{0xAA}, tt.mime, []byte(tt.content))
		if err != nil || !bytes.Equal(got, append([]byte{0xAA}, tt.want...)) {
			t.Errorf("%d: AppendComposite(%q) = %x, %v; want aa%x", i, tt.mime, got, err, tt.want)
		}
	}
	big := make([]byte, 0x012345)
	got, _ := AppendCompositeID(nil, ApplicationOctetStream, big)
	if !bytes.Equal(got[:4], []byte{0x86, 0x01, 0x23, 0x45}) || len(got) != 4+len(big) {
		t.Errorf("u24 length header = %x", got[:4])
	}
}

func TestCompositeEncodeErrors(t *testing.T) {
	tests := []struct {
		name string
		fn   func() ([]byte, error)
	}{
		{"empty custom", func() ([]byte, error) { return AppendComposite([]byte{1}, "", nil) }},
		{"129-byte custom", func() ([]byte, error) { return AppendComposite([]byte{1}, strings.Repeat("m", 129), nil) }},
		{"non-ASCII custom", func() ([]byte, error) { return AppendComposite([]byte{1}, "text/caf\u00e9", nil) }},
		{"id above 0x7f", func() ([]byte, error) { return AppendCompositeID([]byte{1}, 0x80, nil) }},
		{"content over 16 MiB", func() ([]byte, error) { return AppendCompositeID([]byte{1}, TextPlain, make([]byte, MaxEntry+1)) }},
		{"custom content over 16 MiB", func() ([]byte, error) { return AppendCompositeCustom([]byte{1}, "a/b", make([]byte, MaxEntry+1)) }},
		{"route tag over 255", func() ([]byte, error) { return AppendRoute([]byte{1}, "ok", strings.Repeat("r", 256)) }},
		{"simple username over 65535", func() ([]byte, error) { return AppendAuthSimple([]byte{1}, strings.Repeat("u", 65536), "") }},
		{"custom auth empty", func() ([]byte, error) { return AppendAuthCustom([]byte{1}, "", nil) }},
		{"custom auth 129", func() ([]byte, error) { return AppendAuthCustom([]byte{1}, strings.Repeat("a", 129), nil) }},
		{"custom auth non-ASCII", func() ([]byte, error) { return AppendAuthCustom([]byte{1}, "\u00e9", nil) }},
		{"auth id above 0x7f", func() ([]byte, error) { return AppendAuthWellKnown([]byte{1}, 0x80, nil) }},
		{"data mime 129", func() ([]byte, error) { return AppendDataMIME([]byte{1}, strings.Repeat("m", 129)) }},
		{"accept mime non-ASCII", func() ([]byte, error) { return AppendAcceptMIMEs([]byte{1}, "text/plain", "\u00e9/x") }},
	}
	for _, tt := range tests {
		b, err := tt.fn()
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v; want ErrInvalid", tt.name, err)
		}
		if !bytes.Equal(b, []byte{1}) {
			t.Errorf("%s: b = %x; want it unchanged", tt.name, b)
		}
	}
}

func TestCompositeMalformed(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		entries int // well-formed entries before the error
	}{
		{"custom name past end", []byte{0x05, 'a', 'b'}, 0},
		{"no length after id", []byte{0xFE}, 0},
		{"short length", []byte{0xFE, 0, 0}, 0},
		{"content past end", []byte{0xFE, 0, 0, 5, 'a'}, 0},
		{"second entry truncated", []byte{0x85, 0, 0, 1, 'x', 0x85, 0, 0, 2, 'y'}, 1},
		{"custom name fills input", []byte{0x01, 'a', 'b'}, 0},
	}
	for _, tt := range tests {
		r := NewReader(tt.in)
		n := 0
		for r.Next() {
			n++
		}
		if n != tt.entries || !errors.Is(r.Err(), ErrMalformed) {
			t.Errorf("%s: %d entries, err %v; want %d and ErrMalformed", tt.name, n, r.Err(), tt.entries)
		}
		var perr *Error
		if !errors.As(r.Err(), &perr) || perr.Offset < 0 || perr.Offset > len(tt.in) {
			t.Errorf("%s: err %#v; want *Error with an offset within the input", tt.name, r.Err())
		}
		if r.Next() {
			t.Errorf("%s: Next after an error returned true", tt.name)
		}
	}
	// Empty metadata: no entries, no error.
	r := NewReader(nil)
	if r.Next() || r.Err() != nil {
		t.Errorf("empty: Next or Err = %v", r.Err())
	}
}

func TestEntriesAndFind(t *testing.T) {
	md, _ := AppendComposite(nil, "text/x-a", []byte("A"))
	md, _ = AppendCompositeCustom(md, MIMERouting, []byte("\x05route")) // routing by name
	md, _ = AppendCompositeID(md, MessageAuthentication, []byte("\x81tok"))
	var names []string
	for e, err := range Entries(md) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, e.MIME())
	}
	if want := []string{"text/x-a", MIMERouting, MIMEAuthentication}; strings.Join(names, ",") != strings.Join(want, ",") {
		t.Errorf("Entries = %q; want %q", names, want)
	}
	// Find matches a well-known type written out by name.
	if c, ok, err := Find(md, MessageRouting); !ok || err != nil || string(c) != "\x05route" {
		t.Errorf("Find(routing) = %q, %v, %v", c, ok, err)
	}
	if c, ok, err := Find(md, MessageAuthentication); !ok || err != nil || string(c) != "\x81tok" {
		t.Errorf("Find(auth) = %q, %v, %v", c, ok, err)
	}
	if _, ok, err := Find(md, MessageZipkin); ok || err != nil {
		t.Errorf("Find(zipkin) = %v, %v; want not found", ok, err)
	}
	bad := append(md[:len(md):len(md)], 0xFE, 0)
	if _, ok, err := Find(bad, MessageZipkin); ok || !errors.Is(err, ErrMalformed) {
		t.Errorf("Find in malformed = %v, %v; want ErrMalformed", ok, err)
	}
	// Breaking out of the iteration early, and the error of a bad tail.
	n, sawErr := 0, false
	for _, err := range Entries(bad) {
		if err != nil {
			sawErr = true
			break
		}
		n++
	}
	if n != 3 || !sawErr {
		t.Errorf("Entries(bad): %d entries, error %v; want 3 and an error", n, sawErr)
	}
	for range Entries(md) {
		break
	}
}

func TestRoutingMalformed(t *testing.T) {
	for _, in := range [][]byte{{5, 'a'}, {1, 'a', 2, 'b'}, {0xFF}} {
		r := Routes(in)
		for r.Next() {
		}
		if !errors.Is(r.Err(), ErrMalformed) {
			t.Errorf("Routes(%x): err %v; want ErrMalformed", in, r.Err())
		}
	}
	if tag, ok, err := FirstRoute([]byte{1, 'a', 9}); !ok || err != nil || string(tag) != "a" {
		t.Errorf("FirstRoute = %q, %v, %v", tag, ok, err)
	}
	if _, ok, err := FirstRoute(nil); ok || err != nil {
		t.Errorf("FirstRoute(nil) = %v, %v", ok, err)
	}
	if _, _, err := FirstRoute([]byte{3, 'a'}); !errors.Is(err, ErrMalformed) {
		t.Errorf("FirstRoute(truncated) err = %v", err)
	}
}

func TestAuthMalformed(t *testing.T) {
	for _, in := range [][]byte{nil, {0x05, 'a', 'b'}, {0x00}} {
		if a, err := ParseAuth(in); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseAuth(%x) = %+v, %v; want ErrMalformed", in, a, err)
		}
	}
	for _, in := range [][]byte{nil, {0}, {0, 3, 'a', 'b'}} {
		if _, _, err := ParseSimple(in); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseSimple(%x) err = %v; want ErrMalformed", in, err)
		}
	}
	a, err := ParseAuth([]byte{0x81, 't'})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Simple(); !errors.Is(err, ErrMalformed) {
		t.Errorf("Simple() of bearer: err = %v", err)
	}
	if _, ok := (Auth{WellKnown: true, Type: AuthSimple}).Bearer(); ok {
		t.Error("Bearer() of simple: ok")
	}
	// A reserved well-known auth type keeps its id and payload.
	a, err = ParseAuth([]byte{0x85, 'p'})
	if err != nil || !a.WellKnown || a.Type != 5 || string(a.Payload) != "p" || a.Type.String() != "AuthType(0x5)" {
		t.Errorf("reserved auth type = %+v, %v", a, err)
	}
	if b, _ := AppendAuthWellKnown(nil, AuthBearer, []byte("t")); !bytes.Equal(b, []byte{0x81, 't'}) {
		t.Errorf("AppendAuthWellKnown = %x", b)
	}
}

func TestStreamMIME(t *testing.T) {
	tests := []struct {
		mime string
		want []byte
	}{
		{"application/json", []byte{0x85}},
		{"application/cloudevents+json", []byte{0xA8}},
		{"text/x", []byte{0x05, 't', 'e', 'x', 't', '/', 'x'}},
	}
	for _, tt := range tests {
		got, err := AppendDataMIME(nil, tt.mime)
		if err != nil || !bytes.Equal(got, tt.want) {
			t.Errorf("AppendDataMIME(%q) = %x, %v; want %x", tt.mime, got, err, tt.want)
		}
		m, err := ParseDataMIME(got)
		if err != nil || m.String() != tt.mime {
			t.Errorf("ParseDataMIME(%x) = %v, %v; want %q", got, m, err, tt.mime)
		}
	}
	for _, in := range [][]byte{nil, {0x85, 0x85}, {0x03, 'a'}} {
		if _, err := ParseDataMIME(in); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseDataMIME(%x) err = %v; want ErrMalformed", in, err)
		}
	}
	b, err := AppendAcceptMIMEs(nil, "application/json", "text/x", "application/cbor")
	if want := []byte{0x85, 0x05, 't', 'e', 'x', 't', '/', 'x', 0x81}; err != nil || !bytes.Equal(b, want) {
		t.Fatalf("AppendAcceptMIMEs = %x, %v; want %x", b, err, want)
	}
	r := AcceptMIMEs(b)
	var got []string
	for r.Next() {
		got = append(got, r.MIME().String())
	}
	if r.Err() != nil || strings.Join(got, ",") != "application/json,text/x,application/cbor" {
		t.Errorf("AcceptMIMEs = %q, %v", got, r.Err())
	}
	if !(MIMERef{Name: []byte("application/json")}).Is(ApplicationJSON) {
		t.Error("a custom ref naming application/json is not ApplicationJSON")
	}
	r = AcceptMIMEs([]byte{0x85, 0x09, 'a'})
	for r.Next() {
	}
	if !errors.Is(r.Err(), ErrMalformed) {
		t.Errorf("truncated accept list: err %v", r.Err())
	}
}

func TestTracing(t *testing.T) {
	tests := []struct {
		name string
		tr   Tracing
		want []byte
	}{
		{"not sampled, no ids", Tracing{Sampling: NotSampled}, []byte{0x10}},
		{"undecided, no ids", Tracing{}, []byte{0x00}},
		{"sampled 64-bit", Tracing{Sampling: Sampled, HasIDs: true, TraceID: 0x0102030405060708, SpanID: 0x1112131415161718},
			[]byte{0xA0, 1, 2, 3, 4, 5, 6, 7, 8, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18}},
		{"debug 128-bit with parent", Tracing{Sampling: Debug, HasIDs: true, TraceID128: true, TraceIDHigh: 0xA1, TraceID: 0xA2, SpanID: 0xA3, HasParent: true, ParentID: 0xA4},
			[]byte{0xCC, 0, 0, 0, 0, 0, 0, 0, 0xA1, 0, 0, 0, 0, 0, 0, 0, 0xA2, 0, 0, 0, 0, 0, 0, 0, 0xA3, 0, 0, 0, 0, 0, 0, 0, 0xA4}},
	}
	for _, tt := range tests {
		got := AppendTracing(nil, tt.tr)
		if !bytes.Equal(got, tt.want) {
			t.Errorf("%s: AppendTracing = %x; want %x", tt.name, got, tt.want)
		}
		back, err := ParseTracing(tt.want)
		if err != nil || back != tt.tr {
			t.Errorf("%s: ParseTracing = %+v, %v; want %+v", tt.name, back, err, tt.tr)
		}
	}
	// Precedence of sampling flags set together.
	if tr, _ := ParseTracing([]byte{0x70}); tr.Sampling != Debug {
		t.Errorf("D|S|N = %v; want debug", tr.Sampling)
	}
	if tr, _ := ParseTracing([]byte{0x30}); tr.Sampling != Sampled {
		t.Errorf("S|N = %v; want sampled", tr.Sampling)
	}
	for _, in := range [][]byte{nil, {0x00, 0}, {0x80, 1, 2}, {0x88, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}} {
		if _, err := ParseTracing(in); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseTracing(%x) err = %v; want ErrMalformed", in, err)
		}
	}
	if Debug.String() != "debug" || Sampling(9).String() != "Sampling(?)" {
		t.Error("Sampling.String")
	}
}
