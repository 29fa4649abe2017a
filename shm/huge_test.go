package shm

import "testing"

const testMounts = `/dev/vda / ext4 rw,relatime 0 0
tmpfs /dev/shm tmpfs rw,relatime,size=24684092k 0 0
tmpfs /mnt/huge tmpfs rw,relatime,huge=within_size 0 0
tmpfs /mnt/never tmpfs rw,huge=never 0 0
tmpfs /mnt/with\040space tmpfs rw,huge=advise 0 0
`

func TestHugeAllowed(t *testing.T) {
	const never = "always within_size advise [never] deny force"
	tests := []struct {
		shmem, dir string
		want       bool
		reason     string
	}{
		{never, "/dev/shm", false, "tmpfs /dev/shm mounted without huge= (never)"},
		{never, "/dev/shm/sub", false, "tmpfs /dev/shm mounted without huge= (never)"},
		{never, "/dev/shmx", false, "/ is ext4, not tmpfs"},
		{never, "/mnt/huge", true, "tmpfs /mnt/huge mounted huge=within_size"},
		{never, "/mnt/never", false, "tmpfs /mnt/never mounted huge=never"},
		{never, "/mnt/with space/x", true, "tmpfs /mnt/with space mounted huge=advise"},
		{never, "/tmp", false, "/ is ext4, not tmpfs"},
		{"always within_size advise never [deny] force", "/mnt/huge", false, "shmem_enabled is deny"},
		{"always within_size advise never deny [force]", "/dev/shm", true, "shmem_enabled is force"},
		{"", "/mnt/huge", true, "tmpfs /mnt/huge mounted huge=within_size"},
	}
	for i, tt := range tests {
		got := hugeAllowed(testMounts, tt.shmem, tt.dir)
		if got.Enabled != tt.want || got.Reason != tt.reason {
			t.Errorf("%d: hugeAllowed(%q, %q) = %+v; want {%v %q}", i, tt.shmem, tt.dir, got, tt.want, tt.reason)
		}
	}
	if got := hugeAllowed("", "", "/x"); got.Enabled || got.Reason != "no mount found for /x" {
		t.Errorf("no mounts: %+v", got)
	}
}
