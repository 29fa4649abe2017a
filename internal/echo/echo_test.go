package echo

import (
	"testing"

	"github.com/rshm/rshm/rsocket"
)

func TestCount(t *testing.T) {
	tests := []struct {
		count int
		data  string
		want  int
	}{
		{0, "", DefaultCount},
		{0, "count:3", 3},
		{5, "", 5},
		{5, "count:0", 0},
		{-1, "", 0},
		{5, "count:x", 5},
		{5, "count:-2", 5},
	}
	for i, tt := range tests {
		e := &Responder{Count: tt.count}
		if got := e.count(rsocket.Payload{Data: []byte(tt.data)}); got != tt.want {
			t.Errorf("%d: Responder{Count: %d}.count(%q) = %d; want %d", i, tt.count, tt.data, got, tt.want)
		}
	}
}
