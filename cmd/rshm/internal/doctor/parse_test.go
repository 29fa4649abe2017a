package doctor

import (
	"maps"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/rshm/rshm/shm"
)

func TestParseCPUInfo(t *testing.T) {
	tests := []struct {
		in   string
		want cpuInfo
	}{
		{"processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\nflags\t\t: fpu hypervisor sse\n\nprocessor\t: 1\nvendor_id\t: Other\n",
			cpuInfo{vendor: "AuthenticAMD", model: "AMD EPYC 7B13", hypervisor: true}},
		{"vendor_id : GenuineIntel\nflags : fpu hypervisorx\n", cpuInfo{vendor: "GenuineIntel"}},
		{"processor : 0\nCPU implementer : 0x41\n", cpuInfo{}},
		{"", cpuInfo{}},
	}
	for i, tt := range tests {
		if got := parseCPUInfo(tt.in); got != tt.want {
			t.Errorf("%d: parseCPUInfo = %+v; want %+v", i, got, tt.want)
		}
	}
}

func TestParseMeminfo(t *testing.T) {
	in := "MemTotal:       16384000 kB\nHugePages_Total:      16\nHugepagesize:       2048 kB\nBad: 12 MB\nNoValue:\nJunk\nNeg: -1 kB\nBig: 99999999999999999 kB\n"
	got := parseMeminfo(in)
	want := map[string]uint64{"MemTotal": 16384000 << 10, "HugePages_Total": 16, "Hugepagesize": 2 << 20}
	if !maps.Equal(got, want) {
		t.Errorf("parseMeminfo = %v; want %v", got, want)
	}
}

func TestMountOf(t *testing.T) {
	mounts := shm.ParseMounts("/dev/sda1 / ext4 rw 0 0\n" +
		"tmpfs /dev/shm tmpfs rw,size=1g 0 0\n" +
		"tmpfs /dev/shm tmpfs rw,size=2g,huge=advise 0 0\n" +
		"tmpfs /mnt/my\\040shm tmpfs rw,huge=always 0 0\n" +
		"short line\n")
	tests := []struct {
		path, point, opts string
	}{
		{"/dev/shm", "/dev/shm", "rw,size=2g,huge=advise"},
		{"/dev/shm/sub", "/dev/shm", "rw,size=2g,huge=advise"},
		{"/dev/shmx", "/", "rw"},
		{"/mnt/my shm", "/mnt/my shm", "rw,huge=always"},
		{"/tmp", "/", "rw"},
	}
	for _, tt := range tests {
		m, ok := shm.MountOf(mounts, tt.path)
		if !ok || m.Point != tt.point || m.Options != tt.opts {
			t.Errorf("shm.MountOf(%q) = %+v, %v; want %s (%s)", tt.path, m, ok, tt.point, tt.opts)
		}
	}
	if _, ok := shm.MountOf(shm.ParseMounts("tmpfs /dev/shm tmpfs rw 0 0"), "/tmp"); ok {
		t.Error("mountOf found a mount for a path under none")
	}
	m, _ := shm.MountOf(mounts, "/dev/shm")
	if v, ok := m.Option("huge"); !ok || v != "advise" {
		t.Errorf(`opt("huge") = %q, %v; want "advise", true`, v, ok)
	}
	if _, ok := m.Option("mode"); ok {
		t.Error(`opt("mode") found an absent option`)
	}
}

func TestSelected(t *testing.T) {
	tests := []struct{ in, want string }{
		{"always [madvise] never\n", "madvise"},
		{"[always] madvise never", "always"},
		{"always madvise never", ""},
		{"] [", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := selected(tt.in); got != tt.want {
			t.Errorf("selected(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestBootParams(t *testing.T) {
	got := bootParams("BOOT_IMAGE=/vmlinuz isolcpus=domain,2-3 nohz_full=2-3 quiet -- rcu_nocbs=9", "isolcpus", "nohz_full", "rcu_nocbs")
	want := map[string]string{"isolcpus": "domain,2-3", "nohz_full": "2-3"}
	if !maps.Equal(got, want) {
		t.Errorf("bootParams = %v; want %v", got, want)
	}
}

func TestParseCapEff(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"Name:\tx\nCapEff:\t000001ffffffffff\n", 0x1ffffffffff, true},
		{"CapEff:\t0000000000004000", 1 << capIPCLock, true},
		{"CapEff:\tzz\n", 0, false},
		{"CapPrm:\t0000000000004000\n", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseCapEff(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseCapEff(%q) = %#x, %v; want %#x, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// FuzzParse feeds one text to every parser of the package: none may panic,
// and each result must be made of the input.
func FuzzParse(f *testing.F) {
	f.Add("processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\nflags\t\t: fpu hypervisor\n")
	f.Add("MemTotal:       16384000 kB\nHugePages_Total:      16\nHugepagesize:       2048 kB\n")
	f.Add("tmpfs /dev/shm tmpfs rw,nosuid,nodev,size=24684092k,huge=within_size 0 0\ntmpfs /a\\040b tmpfs rw 0 0\n")
	f.Add("always within_size advise [never] deny force\n")
	f.Add("Name:\tx\nCapEff:\t000001ffffffffff\n")
	f.Add("ro isolcpus=2,3 nohz_full=2-3 -- init")
	f.Fuzz(func(t *testing.T, s string) {
		ci := parseCPUInfo(s)
		for _, v := range []string{ci.vendor, ci.model} {
			if !strings.Contains(s, v) {
				t.Errorf("parseCPUInfo invented %q", v)
			}
		}
		for k := range parseMeminfo(s) {
			if !strings.Contains(s, k) {
				t.Errorf("parseMeminfo invented key %q", k)
			}
		}
		for _, m := range shm.ParseMounts(s) {
			if !strings.Contains(s, m.FSType) || !strings.Contains(s, m.Options) || m.FSType == "" || m.Options == "" {
				t.Errorf("parseMounts invented %+v", m)
			}
			if _, ok := shm.MountOf([]shm.Mount{m}, m.Point); !ok {
				t.Errorf("mountOf misses its own mount point %q", m.Point)
			}
			if utf8.ValidString(m.Point) && len(m.Point) > len(s) {
				t.Errorf("mount point %q longer than its input", m.Point)
			}
		}
		if v := selected(s); strings.ContainsAny(v, "[]") || !strings.Contains(s, "["+v+"]") && v != "" {
			t.Errorf("selected = %q", v)
		}
		for k, v := range bootParams(s, "isolcpus", "nohz_full") {
			if !strings.Contains(s, k) || v != "" && !strings.Contains(s, k+"="+v) {
				t.Errorf("bootParams invented %s=%s", k, v)
			}
		}
		parseCapEff(s)
	})
}
