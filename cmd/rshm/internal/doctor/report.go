package doctor

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// Status grades one finding.
type Status uint8

const (
	// OK: nothing to do.
	OK Status = iota
	// Warn: it costs latency or throughput, or stops a feature; the Fix
	// says what to change.
	Warn
	// Info: worth knowing, nothing to fix for the default configuration.
	Info
)

var statusNames = [...]string{OK: "ok", Warn: "warn", Info: "info"}

func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("Status(%d)", uint8(s))
}

// MarshalText writes the status as "ok", "warn" or "info".
func (s Status) MarshalText() ([]byte, error) {
	if int(s) >= len(statusNames) {
		return nil, fmt.Errorf("doctor: bad status %d", uint8(s))
	}
	return []byte(statusNames[s]), nil
}

// UnmarshalText reads "ok", "warn" or "info".
func (s *Status) UnmarshalText(b []byte) error {
	for i, n := range statusNames {
		if string(b) == n {
			*s = Status(i)
			return nil
		}
	}
	return fmt.Errorf("doctor: bad status %q", b)
}

// Section names, in the order Run reports them.
const (
	SectionCPU        = "CPU"
	SectionScheduling = "Scheduling"
	SectionMemory     = "Memory"
	SectionNUMA       = "NUMA"
	SectionStale      = "Stale regions"
)

// Item is one finding.
type Item struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	// Value is what was found, in words.
	Value string `json:"value"`
	// Note says why it matters; empty when the value says it all.
	Note string `json:"note,omitempty"`
	// Fix is the command or setting to apply: for a warning, what removes
	// it; for ok and info items, how to make use of it. Empty when there
	// is nothing to do.
	Fix string `json:"fix,omitempty"`
}

// Section is a titled list of items.
type Section struct {
	Name  string `json:"name"`
	Items []Item `json:"items"`
}

// Report is everything Run found. It marshals to one JSON object:
//
//	{"sections":[{"name":"CPU","items":[{"name":"model","status":"info","value":"..."}]}],
//	 "warnings":1,"removed":["rshm-..."]}
type Report struct {
	Sections []Section `json:"sections"`
	// Warnings counts the items with status Warn.
	Warnings int `json:"warnings"`
	// Removed lists the stale regions Config.Clean removed.
	Removed []string `json:"removed,omitempty"`
}

// Item returns the item named item in the section named section.
func (r *Report) Item(section, item string) (Item, bool) {
	for _, s := range r.Sections {
		if s.Name != section {
			continue
		}
		for _, it := range s.Items {
			if it.Name == item {
				return it, true
			}
		}
	}
	return Item{}, false
}

func (r *Report) add(s Section) {
	for _, it := range s.Items {
		if it.Status == Warn {
			r.Warnings++
		}
	}
	r.Sections = append(r.Sections, s)
}

// WriteText writes the report for a terminal: one block per section, one
// line per item with its status, then the note and fix indented below it,
// and a last line counting the warnings.
//
//	== CPU ==
//	[ok]   smt        off
//	[warn] governor   powersave on 0-3
//	                  the clock ramps up only after a burst has begun
//	                  fix: sudo cpupower frequency-set -g performance
func (r *Report) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	for i, s := range r.Sections {
		if i > 0 {
			bw.WriteByte('\n')
		}
		fmt.Fprintf(bw, "== %s ==\n", s.Name)
		width := 0
		for _, it := range s.Items {
			width = max(width, len(it.Name))
		}
		indent := strings.Repeat(" ", len("[warn] ")+width+2)
		for _, it := range s.Items {
			tag := "[" + it.Status.String() + "]"
			fmt.Fprintf(bw, "%-6s %-*s  %s\n", tag, width, it.Name, indentLines(it.Value, indent))
			if it.Note != "" {
				fmt.Fprintf(bw, "%s%s\n", indent, indentLines(it.Note, indent))
			}
			if it.Fix != "" {
				fmt.Fprintf(bw, "%sfix: %s\n", indent, indentLines(it.Fix, indent+"     "))
			}
		}
	}
	switch r.Warnings {
	case 0:
		fmt.Fprintf(bw, "\nno warnings\n")
	case 1:
		fmt.Fprintf(bw, "\n1 warning\n")
	default:
		fmt.Fprintf(bw, "\n%d warnings\n", r.Warnings)
	}
	return bw.Flush()
}

// indentLines indents every line of s after the first.
func indentLines(s, indent string) string {
	return strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+indent)
}
