package ring

import (
	"context"
	"testing"
)

// The hot paths allocate nothing per record.
func TestAllocs(t *testing.T) {
	b := newRing(t, 4096)
	payload := make([]byte, 100)
	sink := 0
	read := func(rec []byte) bool { sink += len(rec); return true }
	ctx := context.Background()
	tests := []struct {
		name string
		f    func()
	}{
		{"Claim+Commit+Read", func() {
			buf, err := b.Claim(100)
			if err != nil {
				t.Fatal(err)
			}
			buf[0] = 1
			b.Commit(100)
			b.Read(read)
		}},
		{"Write+Read", func() {
			if err := b.Write(payload); err != nil {
				t.Fatal(err)
			}
			b.Read(read)
		}},
		{"Stage+Flush+All", func() {
			for range 3 {
				if _, err := b.Claim(10); err != nil {
					t.Fatal(err)
				}
				b.Stage(10)
			}
			b.Flush()
			for rec := range b.All {
				sink += len(rec)
			}
		}},
		{"empty Read", func() { b.Read(read) }},
		{"ClaimWait+ReadWait", func() {
			if _, err := b.ClaimWait(ctx, Spin{}, 50); err != nil {
				t.Fatal(err)
			}
			b.Commit(50)
			b.ReadWait(ctx, Spin{}, read)
		}},
		{"WaitData with data", func() {
			b.Write(payload)
			b.WaitData(0)
			b.Read(read)
		}},
		{"WaitData timeout", func() { b.WaitData(1) }},
		{"Spin", func() { Spin{}.Idle(0) }},
		{"Yield", func() { Yield{}.Idle(0) }},
	}
	for _, tt := range tests {
		if got := testing.AllocsPerRun(1000, tt.f); got != 0 {
			t.Errorf("%s: %v allocs per run; want 0", tt.name, got)
		}
	}
	if sink == 0 {
		t.Error("nothing read")
	}
}
