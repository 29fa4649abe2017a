package metadata_test

import (
	"fmt"

	"github.com/rshm/rshm/rsocket/metadata"
)

// Composite metadata with a route and simple authentication, the way a
// Spring or rsocket-js requester sends it, and how a responder reads it.
func Example() {
	var route, auth, md []byte
	route, _ = metadata.AppendRoute(route, "greet")
	auth, _ = metadata.AppendAuthSimple(auth, "alice", "secret")
	md, _ = metadata.AppendCompositeID(md, metadata.MessageRouting, route)
	md, _ = metadata.AppendCompositeID(md, metadata.MessageAuthentication, auth)
	fmt.Printf("%x\n", md)

	r := metadata.NewReader(md)
	for r.Next() {
		e := r.Entry()
		switch {
		case e.Is(metadata.MessageRouting):
			tag, _, _ := metadata.FirstRoute(e.Content)
			fmt.Printf("route %s\n", tag)
		case e.Is(metadata.MessageAuthentication):
			a, _ := metadata.ParseAuth(e.Content)
			user, _, _ := a.Simple()
			fmt.Printf("%v auth as %s\n", a.Type, user)
		}
	}
	if err := r.Err(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// fe000006056772656574fc00000e800005616c696365736563726574
	// route greet
	// simple auth as alice
}
