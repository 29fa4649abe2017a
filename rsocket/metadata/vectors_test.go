package metadata

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// vector is one entry of testdata/vectors.json, written by testdata/gen.js
// with rsocket-js 0.0.27.
type vector struct {
	Kind     string   `json:"kind"`
	Name     string   `json:"name"`
	Hex      string   `json:"hex"`
	Tags     []string `json:"tags"`
	Username string   `json:"username"`
	Password string   `json:"password"`
	Token    string   `json:"token"`
	AuthType string   `json:"authType"`
	Payload  string   `json:"payload"`
	Entries  []struct {
		ID      *int   `json:"id"`
		MIME    string `json:"mime"`
		Content string `json:"content"`
	} `json:"entries"`
}

func loadVectors(t testing.TB) []vector {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Generator string   `json:"generator"`
		Vectors   []vector `json:"vectors"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Vectors) == 0 {
		t.Fatal("no vectors")
	}
	return f.Vectors
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestVectors encodes every rsocket-js vector with this package and
// compares the bytes, then decodes the rsocket-js bytes and compares the
// values.
func TestVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.Kind+"/"+v.Name, func(t *testing.T) {
			want := unhex(t, v.Hex)
			var got []byte
			var err error
			switch v.Kind {
			case "routing":
				got, err = AppendRoute(nil, v.Tags...)
				r := Routes(want)
				var tags []string
				for r.Next() {
					tags = append(tags, string(r.Tag()))
				}
				if r.Err() != nil || len(tags) != len(v.Tags) {
					t.Fatalf("decoded tags %q, err %v; want %q", tags, r.Err(), v.Tags)
				}
				for i := range tags {
					if tags[i] != v.Tags[i] {
						t.Errorf("tag %d = %q; want %q", i, tags[i], v.Tags[i])
					}
				}
			case "auth-simple":
				got, err = AppendAuthSimple(nil, v.Username, v.Password)
				a, perr := ParseAuth(want)
				if perr != nil || !a.WellKnown || a.Type != AuthSimple {
					t.Fatalf("ParseAuth = %+v, %v; want simple", a, perr)
				}
				u, p, serr := a.Simple()
				if serr != nil || string(u) != v.Username || string(p) != v.Password {
					t.Errorf("Simple() = %q, %q, %v; want %q, %q", u, p, serr, v.Username, v.Password)
				}
			case "auth-bearer":
				got = AppendAuthBearer(nil, v.Token)
				a, perr := ParseAuth(want)
				tok, ok := a.Bearer()
				if perr != nil || !ok || string(tok) != v.Token {
					t.Errorf("ParseAuth = %+v, %v; want bearer %q", a, perr, v.Token)
				}
			case "auth-custom":
				payload := unhex(t, v.Payload)
				got, err = AppendAuthCustom(nil, v.AuthType, payload)
				a, perr := ParseAuth(want)
				if perr != nil || a.WellKnown || string(a.Name) != v.AuthType || !bytes.Equal(a.Payload, payload) {
					t.Errorf("ParseAuth = %+v, %v; want custom %q %x", a, perr, v.AuthType, payload)
				}
			case "composite":
				r := NewReader(want)
				i := 0
				for ; r.Next(); i++ {
					if i >= len(v.Entries) {
						t.Fatalf("more entries decoded than the %d encoded", len(v.Entries))
					}
					ve, e := v.Entries[i], r.Entry()
					content := unhex(t, ve.Content)
					if ve.ID != nil {
						if !e.WellKnown || int(e.ID) != *ve.ID {
							t.Errorf("entry %d = %+v; want well-known 0x%x", i, e, *ve.ID)
						}
						got, err = AppendCompositeID(got, MimeType(*ve.ID), content)
					} else {
						if e.WellKnown || string(e.Name) != ve.MIME {
							t.Errorf("entry %d = %+v; want custom %q", i, e, ve.MIME)
						}
						// rsocket-js writes every string key in the custom form.
						got, err = AppendCompositeCustom(got, ve.MIME, content)
					}
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(e.Content, content) {
						t.Errorf("entry %d content = %x; want %x", i, e.Content, content)
					}
				}
				if r.Err() != nil || i != len(v.Entries) {
					t.Fatalf("decoded %d entries, err %v; want %d", i, r.Err(), len(v.Entries))
				}
			default:
				t.Fatalf("unknown kind %q", v.Kind)
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("encoded\n got %x\nwant %x (rsocket-js)", got, want)
			}
		})
	}
}

// TestVectorsCurrent re-runs testdata/gen.js and checks that the committed
// vectors.json is what rsocket-js produces now.
func TestVectorsCurrent(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not found in PATH")
	}
	core := filepath.Join("..", "internal", "interop", "testdata", "js", "node_modules", "rsocket-core", "package.json")
	if _, err := os.Stat(core); err != nil {
		t.Skip("rsocket-core not installed; run `npm ci` in rsocket/internal/interop/testdata/js")
	}
	cmd := exec.Command(node, "gen.js")
	cmd.Dir = "testdata"
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node gen.js: %v", err)
	}
	committed, err := os.ReadFile(filepath.Join("testdata", "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, committed) {
		t.Fatal("testdata/vectors.json is stale: run `cd rsocket/metadata/testdata && node gen.js > vectors.json`")
	}
}
