package rsocket

import (
	"math/rand/v2"
	"testing"
)

// checkTable compares t with the model: same entries, same length, and
// each() visits every entry once.
func checkTable(t *testing.T, tab *streamTable, model map[uint32]*stream) {
	t.Helper()
	if tab.len() != len(model) {
		t.Fatalf("len = %d; model has %d", tab.len(), len(model))
	}
	for id, s := range model {
		if got := tab.get(id); got != s {
			t.Fatalf("get(%d) = %p; want %p", id, got, s)
		}
	}
	seen := map[*stream]int{}
	tab.each(func(s *stream) { seen[s]++ })
	for _, s := range model {
		if seen[s] != 1 {
			t.Fatalf("each visited %p %d times", s, seen[s])
		}
	}
	if len(seen) != len(model) {
		t.Fatalf("each visited %d streams; want %d", len(seen), len(model))
	}
}

// Random adds, replacements and removals agree with a map, for ids in
// sequence (how both sides hand them out), ids that all share a slot (a
// peer choosing them), and ids anywhere.
func TestStreamTableModel(t *testing.T) {
	gens := map[string]func(r *rand.Rand, i int) uint32{
		"sequential": func(r *rand.Rand, i int) uint32 { return uint32(2*i + 1) },
		"colliding":  func(r *rand.Rand, i int) uint32 { return uint32(i+1) << 17 },
		"random":     func(r *rand.Rand, i int) uint32 { return r.Uint32()>>1 | 1 },
	}
	for name, gen := range gens {
		t.Run(name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, uint64(len(name))))
			tab := newStreamTable()
			model := map[uint32]*stream{}
			var live []uint32
			for i := range 20000 {
				switch op := r.IntN(10); {
				case op < 5 || len(live) == 0: // add
					id := gen(r, i)
					s := &stream{id: id}
					if _, ok := model[id]; !ok {
						live = append(live, id)
					}
					tab.put(id, s)
					model[id] = s
				case op < 6: // replace
					id := live[r.IntN(len(live))]
					s := &stream{id: id}
					tab.put(id, s)
					model[id] = s
				default: // remove, mostly the oldest, as requests finish
					k := 0
					if r.IntN(4) == 0 {
						k = r.IntN(len(live))
					}
					id := live[k]
					live = append(live[:k], live[k+1:]...)
					tab.del(id)
					delete(model, id)
				}
				if tab.get(0) != nil {
					t.Fatal("id 0 found")
				}
				if i%997 == 0 {
					checkTable(t, &tab, model)
				}
			}
			checkTable(t, &tab, model)
			for _, id := range live {
				tab.del(id)
				tab.del(id) // a second removal does nothing
			}
			checkTable(t, &tab, map[uint32]*stream{})
		})
	}
}

// The array grows when many ids spill over, and not past its maximum.
func TestStreamTableGrows(t *testing.T) {
	tab := newStreamTable()
	for i := range uint32(4 * streamTableMin) {
		tab.put(2*i+1, &stream{})
	}
	if len(tab.slots) <= streamTableMin || len(tab.more) > len(tab.slots)/4 {
		t.Errorf("slots %d, spilled %d after %d sequential ids", len(tab.slots), len(tab.more), 4*streamTableMin)
	}
	big := newStreamTable()
	for i := range uint32(streamTableMax) {
		big.put(i<<1|1, &stream{})
		big.put(i<<1|1+uint32(streamTableMax)*4, &stream{})
	}
	if len(big.slots) != streamTableMax || big.len() != 2*streamTableMax {
		t.Errorf("slots %d len %d; want %d, %d", len(big.slots), big.len(), streamTableMax, 2*streamTableMax)
	}
}

// Adding, finding and removing ids in sequence allocates nothing once the
// array covers the window of open ids.
func TestStreamTableAllocs(t *testing.T) {
	tab := newStreamTable()
	s := &stream{}
	id := uint32(1)
	allocs := testing.AllocsPerRun(1000, func() {
		tab.put(id, s)
		if tab.get(id) != s {
			t.Fatal("not found")
		}
		if id > 64 {
			tab.del(id - 64) // 32 open at a time
		}
		id += 2
	})
	if allocs != 0 {
		t.Errorf("allocs = %v; want 0", allocs)
	}
}
