package rsocket

import "sync/atomic"

// streamTable is a Conn's table of open streams by id (used with c.mu
// held). A request-response adds, finds and removes an entry per request,
// and with a Go map those three were a large part of a blocking
// request-response's engine cost (BenchmarkEngineRequestResponse): hashing,
// and clearing a deleted slot with write barriers while the collector runs.
//
// Both sides hand out ids in sequence (1, 3, 5, ... and 2, 4, 6, ...), so
// the open streams of a connection nearly always have ids within a window
// of a few hundred: the table is an array indexed by the id's low bits,
// where each id has exactly one slot. An id whose slot is held by another
// (a long-lived stream a lap of the array behind, or a peer choosing ids
// that collide) goes to a Go map, which keeps its own defence against
// chosen keys. When the map holds more than a quarter of the array's size,
// the array doubles, up to streamTableMax slots.
//
//	id & mask:  0      1      2      3      ...    mask
//	          +------+------+------+------+-----+------+
//	slots     |      |id 1  |id 2  |id 3  | ... |      |   more: {id 259: s}
//	          +------+------+------+------+-----+------+
//
// An id is in its slot or in more, never both.
type streamTable struct {
	slots []streamSlot // power-of-two length
	more  map[uint32]*stream
	n     int
	live  atomic.Int32 // n, for readers that do not hold the table's lock
}

type streamSlot struct {
	id uint32
	s  *stream // nil: free
}

const (
	streamTableMin = 128
	streamTableMax = 1 << 16
)

func newStreamTable() streamTable {
	return streamTable{slots: make([]streamSlot, streamTableMin)}
}

func (t *streamTable) len() int { return t.n }

// reset empties the table.
func (t *streamTable) reset() {
	t.slots, t.more, t.n = make([]streamSlot, streamTableMin), nil, 0
	t.live.Store(0)
}

func (t *streamTable) slot(id uint32) *streamSlot {
	return &t.slots[id&uint32(len(t.slots)-1)]
}

// get returns the stream under id, or nil.
func (t *streamTable) get(id uint32) *stream {
	if sl := t.slot(id); sl.s != nil && sl.id == id {
		return sl.s
	}
	if len(t.more) == 0 {
		return nil
	}
	return t.more[id]
}

// put adds s under id, or replaces the stream already there.
func (t *streamTable) put(id uint32, s *stream) {
	sl := t.slot(id)
	switch {
	case sl.s != nil && sl.id == id:
		sl.s = s
		return
	case len(t.more) > 0:
		if _, ok := t.more[id]; ok {
			t.more[id] = s
			return
		}
	}
	t.n++
	t.live.Store(int32(t.n))
	if sl.s == nil {
		sl.id, sl.s = id, s
		return
	}
	if t.more == nil {
		t.more = make(map[uint32]*stream)
	}
	t.more[id] = s
	if len(t.more) > len(t.slots)/4 && len(t.slots) < streamTableMax {
		t.grow()
	}
}

// del removes the stream under id, if any.
func (t *streamTable) del(id uint32) {
	if sl := t.slot(id); sl.s != nil && sl.id == id {
		sl.id, sl.s = 0, nil
		t.n--
		t.live.Store(int32(t.n))
		return
	}
	if _, ok := t.more[id]; ok {
		delete(t.more, id)
		t.n--
		t.live.Store(int32(t.n))
	}
}

// each calls fn for every stream in the table.
func (t *streamTable) each(fn func(s *stream)) {
	for i := range t.slots {
		if s := t.slots[i].s; s != nil {
			fn(s)
		}
	}
	for _, s := range t.more {
		fn(s)
	}
}

// grow doubles the array and moves every entry that now has its slot free.
func (t *streamTable) grow() {
	old, more := t.slots, t.more
	t.slots, t.more, t.n = make([]streamSlot, 2*len(old)), nil, 0
	for _, sl := range old {
		if sl.s != nil {
			t.put(sl.id, sl.s)
		}
	}
	for id, s := range more {
		t.put(id, s)
	}
}
