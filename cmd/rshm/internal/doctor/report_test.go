package doctor

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestStatusText(t *testing.T) {
	tests := []struct {
		s    Status
		want string
	}{{OK, "ok"}, {Warn, "warn"}, {Info, "info"}, {9, "Status(9)"}}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.want {
			t.Errorf("Status(%d).String() = %q; want %q", tt.s, got, tt.want)
		}
	}
	if _, err := Status(9).MarshalText(); err == nil {
		t.Error("MarshalText of a bad status succeeded")
	}
	for _, s := range []Status{OK, Warn, Info} {
		b, err := s.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back Status
		if err := back.UnmarshalText(b); err != nil || back != s {
			t.Errorf("UnmarshalText(%q) = %v, %v; want %v", b, back, err, s)
		}
	}
	var s Status
	if err := s.UnmarshalText([]byte("fine")); err == nil {
		t.Error(`UnmarshalText("fine") succeeded`)
	}
}

func testReport() *Report {
	r := &Report{}
	r.add(Section{Name: "CPU", Items: []Item{
		{Name: "smt", Status: OK, Value: "off"},
		{Name: "governor", Status: Warn, Value: "powersave on 0-3", Note: "slow ramp", Fix: "cpupower frequency-set -g performance\nor: echo performance"},
	}})
	r.add(Section{Name: "NUMA", Items: []Item{{Name: "nodes", Status: Info, Value: "1 node"}}})
	return r
}

func TestWriteTextGolden(t *testing.T) {
	var b bytes.Buffer
	if err := testReport().WriteText(&b); err != nil {
		t.Fatal(err)
	}
	want := `== CPU ==
[ok]   smt       off
[warn] governor  powersave on 0-3
                 slow ramp
                 fix: cpupower frequency-set -g performance
                      or: echo performance

== NUMA ==
[info] nodes  1 node

1 warning
`
	if got := b.String(); got != want {
		t.Errorf("WriteText:\n%s\nwant:\n%s", got, want)
	}
}

func TestJSONGolden(t *testing.T) {
	r := testReport()
	r.Removed = []string{"rshm-00"}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"sections":[{"name":"CPU","items":[{"name":"smt","status":"ok","value":"off"},` +
		`{"name":"governor","status":"warn","value":"powersave on 0-3","note":"slow ramp","fix":"cpupower frequency-set -g performance\nor: echo performance"}]},` +
		`{"name":"NUMA","items":[{"name":"nodes","status":"info","value":"1 node"}]}],"warnings":1,"removed":["rshm-00"]}`
	if string(b) != want {
		t.Errorf("JSON:\n%s\nwant:\n%s", b, want)
	}
}

func TestSizeString(t *testing.T) {
	tests := []struct {
		n    uint64
		want string
	}{
		{0, "0 B"}, {1023, "1023 B"}, {1024, "1 KiB"}, {1536, "1.5 KiB"},
		{2<<20 + 12<<10, "2.0 MiB"}, {16 << 30, "16 GiB"}, {1 << 62, "4 EiB"}, {^uint64(0), "16 EiB"},
	}
	for _, tt := range tests {
		if got := sizeString(tt.n); got != tt.want {
			t.Errorf("sizeString(%d) = %q; want %q", tt.n, got, tt.want)
		}
	}
}

func TestRegionSize(t *testing.T) {
	// A duplex of two 1 MiB rings: the header page, then two rings of
	// 1 MiB plus their header, each rounded up to a page.
	if got, want := defaultRegion, uint64(4096+2*(1<<20+4096)); got != want {
		t.Errorf("defaultRegion = %d; want %d", got, want)
	}
}
