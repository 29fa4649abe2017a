package affinity

import (
	"errors"
	"slices"
	"testing"
)

func TestParseList(t *testing.T) {
	tests := []struct {
		in   string
		want []int
		ok   bool
	}{
		{"", nil, true},
		{"\n", nil, true},
		{"0", []int{0}, true},
		{"0-3\n", []int{0, 1, 2, 3}, true},
		{"0-3,5,7-8", []int{0, 1, 2, 3, 5, 7, 8}, true},
		{"7-8,0,0-1", []int{0, 1, 7, 8}, true},
		{"0-8:4", []int{0, 4, 8}, true},
		{"1-1", []int{1}, true},
		{"3-1", nil, false},
		{"-1", nil, false},
		{"1-", nil, false},
		{"a", nil, false},
		{"1,,2", nil, false},
		{"+1", nil, false},
		{"01", nil, false},
		{"0-3:0", nil, false},
		{"5:2", nil, false},
		{"8192", nil, false},
		{"0-8191", nil, true},
	}
	for i, tt := range tests {
		got, err := ParseList(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("%d: ParseList(%q) error %v; want ok=%v", i, tt.in, err, tt.ok)
			continue
		}
		if err != nil && !errors.Is(err, ErrList) {
			t.Errorf("%d: error %v does not wrap ErrList", i, err)
		}
		if tt.want != nil && !slices.Equal(got, tt.want) {
			t.Errorf("%d: ParseList(%q) = %v; want %v", i, tt.in, got, tt.want)
		}
	}
}

func TestFormatList(t *testing.T) {
	tests := []struct {
		in   []int
		want string
	}{
		{nil, ""},
		{[]int{0}, "0"},
		{[]int{0, 1, 2, 3, 5, 7, 8}, "0-3,5,7-8"},
		{[]int{1, 3}, "1,3"},
	}
	for _, tt := range tests {
		if got := FormatList(tt.in); got != tt.want {
			t.Errorf("FormatList(%v) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzParseList(f *testing.F) {
	for _, s := range []string{"0-3,5,7-8", "0", "", "0-8:4", "3-1", "1,,2", "0-8191"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseList(s)
		if err != nil {
			return
		}
		if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
			t.Fatalf("ParseList(%q) = %v, not sorted and distinct", s, got)
		}
		for _, c := range got {
			if c < 0 || c >= MaxCPU {
				t.Fatalf("ParseList(%q) has cpu %d", s, c)
			}
		}
		again, err := ParseList(FormatList(got))
		if err != nil || !slices.Equal(again, got) {
			t.Fatalf("round trip of %q: %v, %v; want %v", s, again, err, got)
		}
	})
}
