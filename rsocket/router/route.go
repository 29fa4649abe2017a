package router

import (
	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/metadata"
)

// Route returns a request for route carrying data: its metadata is what a
// Router reads by default, and what Spring and rsocket-js requesters send,
// composite metadata with one routing entry. Pass it to any request method
// of a connection:
//
//	req, err := router.Route("orders.get", []byte(id))
//	if err != nil {
//		return err
//	}
//	resp, err := conn.RequestResponse(ctx, req)
//
// Further entries (authentication, say) can be appended to its Metadata
// with metadata.AppendCompositeID. The error is metadata.ErrInvalid for a
// route longer than metadata.MaxTag bytes. A connection whose SETUP
// announced metadata.MIMERouting as its metadata type sends bare routing
// metadata instead: metadata.AppendRoute(nil, route).
func Route(route string, data []byte) (rsocket.Payload, error) {
	var tag [1 + metadata.MaxTag]byte
	rt, err := metadata.AppendRoute(tag[:0], route)
	if err != nil {
		return rsocket.Payload{}, err
	}
	md, err := metadata.AppendCompositeID(make([]byte, 0, compositeHeader+len(rt)), metadata.MessageRouting, rt)
	if err != nil {
		return rsocket.Payload{}, err
	}
	return rsocket.Payload{Metadata: md, Data: data}, nil
}

// compositeHeader is the size of a composite entry's header with a
// well-known MIME id: the id byte and a 24-bit length.
const compositeHeader = 4
