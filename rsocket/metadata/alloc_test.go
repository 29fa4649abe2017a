package metadata

import "testing"

// The readers and the encoders into a buffer with room do not allocate.
func TestAllocs(t *testing.T) {
	md, _ := AppendCompositeID(nil, MessageRouting, []byte("\x04echo\x05other"))
	md, _ = AppendCompositeCustom(md, "text/x-custom", []byte("c"))
	auth, _ := AppendAuthSimple(nil, "user", "pass")
	md, _ = AppendCompositeID(md, MessageAuthentication, auth)
	accept, _ := AppendAcceptMIMEs(nil, "application/json", "text/x-custom")
	trace := AppendTracing(nil, Tracing{Sampling: Sampled, HasIDs: true, TraceID128: true, HasParent: true})
	buf := make([]byte, 0, 1024)
	var sink int
	tests := []struct {
		name string
		fn   func()
	}{
		{"Reader", func() {
			r := NewReader(md)
			for r.Next() {
				sink += len(r.Entry().Content)
			}
		}},
		{"Entries", func() {
			for e, err := range Entries(md) {
				if err == nil {
					sink += len(e.Content)
				}
			}
		}},
		{"Find+Routes", func() {
			c, _, _ := Find(md, MessageRouting)
			r := Routes(c)
			for r.Next() {
				sink += len(r.Tag())
			}
		}},
		{"ParseAuth+Simple", func() {
			c, _, _ := Find(md, MessageAuthentication)
			a, _ := ParseAuth(c)
			u, p, _ := a.Simple()
			sink += len(u) + len(p)
		}},
		{"AcceptMIMEs", func() {
			r := AcceptMIMEs(accept)
			for r.Next() {
				sink += int(r.MIME().ID)
			}
		}},
		{"ParseDataMIME", func() {
			m, _ := ParseDataMIME(accept[:1])
			sink += int(m.ID)
		}},
		{"ParseTracing", func() {
			tr, _ := ParseTracing(trace)
			sink += int(tr.SpanID)
		}},
		{"Append", func() {
			b := buf[:0]
			b, _ = AppendComposite(b, MIMERouting, []byte("\x04echo"))
			b, _ = AppendComposite(b, "text/x-custom", []byte("x"))
			b, _ = AppendRoute(b, "echo", "more")
			b, _ = AppendAuthSimple(b, "user", "pass")
			b = AppendAuthBearer(b, "token")
			b, _ = AppendAcceptMIMEs(b, "application/json", "text/x-custom")
			b = AppendTracing(b, Tracing{HasIDs: true})
			sink += len(b)
		}},
	}
	for _, tt := range tests {
		if n := testing.AllocsPerRun(100, tt.fn); n != 0 {
			t.Errorf("%s: %v allocs per run; want 0", tt.name, n)
		}
	}
	_ = sink
}
