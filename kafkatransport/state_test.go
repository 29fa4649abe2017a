package kafkatransport

import (
	"errors"
	"reflect"
	"testing"
)

var states = []*sessionState{
	{partition: 0, delivered: 0, reply: "t.reply.x", pending: []int64{}, streams: []uint32{}},
	{partition: 3, delivered: 1 << 40, reply: "replies", setup: []byte{0, 0, 0, 0, 4, 0, 1, 0},
		pending: []int64{5, 9, 1 << 40}, streams: []uint32{1, 7, 0x7FFFFFFF}},
}

func TestStateRoundTrip(t *testing.T) {
	for i, s := range states {
		got, err := parseState(appendState(nil, s))
		if err != nil || !reflect.DeepEqual(got, s) {
			t.Errorf("%d: parseState(appendState(%+v)) = %+v, %v", i, s, got, err)
		}
	}
}

// TestStateGolden pins the layout drawn in state.go.
func TestStateGolden(t *testing.T) {
	got := appendState(nil, &sessionState{partition: 2, delivered: 258, reply: "r", setup: []byte{0xAA}, pending: []int64{7}, streams: []uint32{5}})
	want := []byte{
		'R', 'S', 'K', 'S', 1,
		0, 0, 0, 2, // partition
		0, 0, 0, 0, 0, 0, 1, 2, // delivered
		0, 1, 'r', // reply topic
		0, 0, 0, 1, 0xAA, // SETUP
		0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 7, // pending
		0, 0, 0, 1, 0, 0, 0, 5, // streams
	}
	if string(got) != string(want) {
		t.Errorf("appendState = % x\nwant          % x", got, want)
	}
}

func TestStateCorrupt(t *testing.T) {
	good := appendState(nil, states[1])
	for i, b := range [][]byte{
		nil,
		good[:len(good)-1],
		append(append([]byte(nil), good...), 0),
		append([]byte("XXXX"), good[4:]...),
		func() []byte { b := append([]byte(nil), good...); b[5] = 0x80; return b }(), // negative partition
		appendState(nil, &sessionState{reply: "bad/topic"}),
		appendState(nil, &sessionState{reply: "r", pending: []int64{3, 3}}),
		appendState(nil, &sessionState{reply: "r", streams: []uint32{0}}),
	} {
		if _, err := parseState(b); !errors.Is(err, ErrCorruptState) {
			t.Errorf("%d: parseState(% x) = %v, want ErrCorruptState", i, b, err)
		}
	}
	b := append([]byte(nil), good...)
	b[4] = 2
	if _, err := parseState(b); err == nil {
		t.Error("a record of layout version 2 parsed")
	}
}

// FuzzParseState: no input panics, and what parses encodes back to the
// same bytes.
func FuzzParseState(f *testing.F) {
	for _, s := range states {
		f.Add(appendState(nil, s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := parseState(b)
		if err != nil {
			return
		}
		if got := appendState(nil, s); string(got) != string(b) {
			t.Fatalf("re-encoded % x, parsed from % x", got, b)
		}
	})
}
