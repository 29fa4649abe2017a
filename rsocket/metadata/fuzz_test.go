package metadata

import (
	"bytes"
	"testing"
)

// Every decoder is fuzzed: it must not panic, and what it accepts must
// encode back to the same bytes (the encodings are canonical), or, for
// tracing whose flags byte may carry redundant bits, decode again to the
// same value.

// seedVectors adds the rsocket-js vectors of the given kinds.
func seedVectors(f *testing.F, kinds ...string) {
	for _, v := range loadVectors(f) {
		for _, k := range kinds {
			if v.Kind == k {
				f.Add(unhex(f, v.Hex))
			}
		}
	}
}

func FuzzComposite(f *testing.F) {
	seedVectors(f, "composite")
	f.Add([]byte{})
	f.Add([]byte{0xFE, 0, 0, 9})
	f.Add([]byte{0x7F})
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewReader(in)
		var out []byte
		for r.Next() {
			e := r.Entry()
			var err error
			if e.WellKnown {
				out, err = AppendCompositeID(out, e.ID, e.Content)
			} else {
				// The decoder accepts any name bytes; re-encode them as read.
				out = append(out, byte(len(e.Name)-1))
				out = append(out, e.Name...)
				out = appendContent(out, e.Content)
			}
			if err != nil {
				t.Fatalf("re-encoding %+v: %v", e, err)
			}
		}
		if r.Err() == nil && !bytes.Equal(out, in) {
			t.Fatalf("round trip\n in %x\nout %x", in, out)
		}
		if r.Err() != nil && !bytes.HasPrefix(in, out) {
			t.Fatalf("entries before the error are not a prefix: %x of %x", out, in)
		}
	})
}

func FuzzRouting(f *testing.F) {
	seedVectors(f, "routing")
	f.Add([]byte{})
	f.Add([]byte{3, 'a'})
	f.Fuzz(func(t *testing.T, in []byte) {
		r := Routes(in)
		var out []byte
		for r.Next() {
			var err error
			if out, err = AppendRoute(out, string(r.Tag())); err != nil {
				t.Fatal(err)
			}
		}
		if r.Err() == nil && !bytes.Equal(out, in) {
			t.Fatalf("round trip\n in %x\nout %x", in, out)
		}
	})
}

func FuzzAuth(f *testing.F) {
	seedVectors(f, "auth-simple", "auth-bearer", "auth-custom")
	f.Add([]byte{})
	f.Add([]byte{0x80, 0xFF, 0xFF})
	f.Add([]byte{0x7F, 'a'})
	f.Fuzz(func(t *testing.T, in []byte) {
		a, err := ParseAuth(in)
		if err != nil {
			return
		}
		var out []byte
		if a.WellKnown {
			if u, p, err := a.Simple(); a.Type == AuthSimple && err == nil {
				if out, err = AppendAuthSimple(nil, string(u), string(p)); err != nil {
					t.Fatal(err)
				}
			} else {
				out, _ = AppendAuthWellKnown(nil, a.Type, a.Payload)
			}
		} else {
			out = append(out, byte(len(a.Name)-1))
			out = append(out, a.Name...)
			out = append(out, a.Payload...)
		}
		if !bytes.Equal(out, in) {
			t.Fatalf("round trip\n in %x\nout %x", in, out)
		}
	})
}

func FuzzTracing(f *testing.F) {
	for _, tr := range []Tracing{
		{},
		{Sampling: Debug},
		{Sampling: Sampled, HasIDs: true, TraceID: 1, SpanID: 2},
		{Sampling: NotSampled, HasIDs: true, TraceID128: true, TraceIDHigh: 3, TraceID: 4, SpanID: 5, HasParent: true, ParentID: 6},
	} {
		f.Add(AppendTracing(nil, tr))
	}
	f.Add([]byte{0xFF})
	f.Fuzz(func(t *testing.T, in []byte) {
		tr, err := ParseTracing(in)
		if err != nil {
			return
		}
		back, err := ParseTracing(AppendTracing(nil, tr))
		if err != nil || back != tr {
			t.Fatalf("re-decoded %+v, %v; want %+v", back, err, tr)
		}
	})
}

func FuzzMimeTypes(f *testing.F) {
	for _, in := range [][]string{{"application/json"}, {"text/x-custom", "application/cbor"}, {MIMEComposite}} {
		b, _ := AppendAcceptMIMEs(nil, in...)
		f.Add(b)
	}
	f.Add([]byte{0x7F})
	f.Fuzz(func(t *testing.T, in []byte) {
		if m, err := ParseDataMIME(in); err == nil {
			if m.WellKnown && len(in) != 1 || !m.WellKnown && len(m.Name) != len(in)-1 {
				t.Fatalf("ParseDataMIME(%x) = %+v: did not consume the input", in, m)
			}
		}
		r := AcceptMIMEs(in)
		var out []byte
		for r.Next() {
			m := r.MIME()
			if m.WellKnown {
				out = append(out, 0x80|byte(m.ID))
			} else {
				out = append(out, byte(len(m.Name)-1))
				out = append(out, m.Name...)
			}
		}
		if r.Err() == nil && !bytes.Equal(out, in) {
			t.Fatalf("round trip\n in %x\nout %x", in, out)
		}
	})
}
