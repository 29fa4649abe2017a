package ring_test

import (
	"context"
	"fmt"

	"github.com/rshm/rshm/ring"
)

func Example() {
	// One process here; across processes, mem is a shared mapping, the
	// creator calls Init and the peer Attach.
	mem := ring.AlignedMem(ring.Size(4096))
	producer, err := ring.Init(mem, 4096)
	if err != nil {
		panic(err)
	}
	consumer, err := ring.Attach(mem)
	if err != nil {
		panic(err)
	}

	// Claim an upper bound, fill it, commit the exact size.
	buf, _ := producer.Claim(64)
	n := copy(buf, "hello")
	producer.Commit(n)
	producer.Write([]byte("world"))

	consumer.ReadWait(context.Background(), ring.Spin{}, func(rec []byte) bool {
		fmt.Printf("%s\n", rec) // rec is valid only inside the callback
		return true
	})
	// Output:
	// hello
	// world
}
