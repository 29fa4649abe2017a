package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/rshm/rshm/cmd/rshm/internal/doctor"
)

var doctorSections = []string{doctor.SectionCPU, doctor.SectionScheduling, doctor.SectionMemory, doctor.SectionNUMA, doctor.SectionStale}

func TestDoctorText(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads Linux /sys and /proc")
	}
	var out, errOut bytes.Buffer
	dir := t.TempDir()
	if err := Doctor(context.Background(), []string{"--dir", dir, "--clean"}, nil, &out, &errOut); err != nil {
		t.Fatalf("doctor: %v (exit status %d); stderr %s", err, exitStatus(err), errOut.String())
	}
	for _, s := range doctorSections {
		if !strings.Contains(out.String(), "== "+s+" ==\n") {
			t.Errorf("output lacks section %q:\n%s", s, out.String())
		}
	}
	if !strings.Contains(out.String(), "none in "+dir) {
		t.Errorf("output does not report the empty --dir %s:\n%s", dir, out.String())
	}
	if errOut.Len() != 0 {
		t.Errorf("doctor wrote to stderr: %s", errOut.String())
	}
}

func TestDoctorJSON(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads Linux /sys and /proc")
	}
	var out, errOut bytes.Buffer
	if err := Doctor(context.Background(), []string{"--json", "--dir", t.TempDir()}, nil, &out, &errOut); err != nil {
		t.Fatalf("doctor --json: %v; stderr %s", err, errOut.String())
	}
	var r doctor.Report
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("output is not one JSON object: %v\n%s", err, out.String())
	}
	if len(r.Sections) != len(doctorSections) {
		t.Fatalf("%d sections; want %d", len(r.Sections), len(doctorSections))
	}
	for i, s := range r.Sections {
		if s.Name != doctorSections[i] || len(s.Items) == 0 {
			t.Errorf("section %d = %q with %d items; want %q with some", i, s.Name, len(s.Items), doctorSections[i])
		}
	}
}

func TestDoctorUsage(t *testing.T) {
	tests := []struct {
		args []string
		want int
	}{
		{[]string{"extra"}, 2},
		{[]string{"--nope"}, 2},
		{[]string{"--help"}, 0},
	}
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		err := Doctor(context.Background(), tt.args, nil, &out, &errOut)
		if got := exitStatus(err); got != tt.want {
			t.Errorf("doctor %q: exit status %d (%v); want %d", tt.args, got, err, tt.want)
		}
	}
}

// exitStatus maps a command's error to the exit status cmd/rshm gives it.
func exitStatus(err error) int {
	var help *HelpError
	switch {
	case err == nil, errors.As(err, &help):
		return 0
	case errors.Is(err, ErrUsage):
		return 2
	}
	return 1
}
