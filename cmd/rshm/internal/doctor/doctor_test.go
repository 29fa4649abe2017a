package doctor

import (
	"bytes"
	"encoding/json"
	"runtime"
	"strings"
	"testing"
)

var sections = []string{SectionCPU, SectionScheduling, SectionMemory, SectionNUMA, SectionStale}

// TestRunThisMachine reads the real machine, leaving /dev/shm alone.
func TestRunThisMachine(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads Linux /sys and /proc")
	}
	r, err := Run(Config{})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	var text bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", text.String())
	for _, s := range sections {
		if !strings.Contains(text.String(), "== "+s+" ==\n") {
			t.Errorf("text output lacks section %q", s)
		}
	}
	if len(r.Sections) != len(sections) {
		t.Errorf("%d sections; want %d", len(r.Sections), len(sections))
	}
	warns := 0
	for i, s := range r.Sections {
		if s.Name != sections[i] {
			t.Errorf("section %d = %q; want %q", i, s.Name, sections[i])
		}
		if len(s.Items) == 0 {
			t.Errorf("section %s has no items", s.Name)
		}
		for _, it := range s.Items {
			if it.Name == "" || it.Value == "" || it.Status > Info {
				t.Errorf("%s: malformed item %+v", s.Name, it)
			}
			if it.Status == Warn {
				warns++
				if it.Fix == "" && it.Name != "error" {
					t.Errorf("%s/%s: a warning without a fix", s.Name, it.Name)
				}
			}
		}
	}
	if warns != r.Warnings {
		t.Errorf("Warnings = %d; counted %d", r.Warnings, warns)
	}
	for _, name := range []string{"model", "topology", "allowed", "best pair"} {
		if _, ok := r.Item(SectionCPU, name); !ok {
			t.Errorf("CPU section lacks %q", name)
		}
	}

	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("JSON does not parse back: %v\n%s", err, b)
	}
	if len(back.Sections) != len(r.Sections) || back.Warnings != r.Warnings {
		t.Errorf("JSON round trip lost data: %+v", back)
	}
	for i := range r.Sections {
		if len(back.Sections[i].Items) != len(r.Sections[i].Items) {
			t.Errorf("section %s: %d items after JSON; want %d", r.Sections[i].Name, len(back.Sections[i].Items), len(r.Sections[i].Items))
		}
	}
}
