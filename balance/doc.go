// Package balance is a load-balancing RSocket client: one Client over the
// instances of a service, each reached as rshm.Dial reaches an address
// (shared memory with a co-located instance, TCP otherwise), with the
// requester API of a single connection (rsocket.Requester), so code does not
// change when one connection becomes many.
//
//	c, _ := balance.New([]string{"10.0.0.1:7878", "10.0.0.2:7878", "10.0.0.3:7878"}, balance.Config{})
//	defer c.Close()
//	p, err := c.RequestResponse(ctx, rsocket.Payload{Data: []byte("hi")})
//
// # Picking
//
// Each instance keeps one connection, an rshm.Client that redials it with
// backoff when it ends. A request goes to one admitted instance, chosen by
// Config.Strategy: P2C (the default) draws two distinct admitted instances
// at random and sends to the one of lower cost, its predicted latency
// times its outstanding requests plus one; RoundRobin takes them in turn.
// The prediction is a peak-sensitive moving average of the instance's
// request-response round trips (as Finagle's and Linkerd's "peak EWMA"):
// a round trip above the estimate replaces it at once, lower ones pull it
// down with time constant Config.DecayTime, and an instance not heard from
// decays towards zero so that it is tried again. While an instance sits
// on outstanding requests, how long it has been silent counts as its
// latency if longer, so an instance that stops answering looks slow at
// once instead of after its first late answer.
//
// # Leases
//
// With Config.Conn.Client.Lease set, the instances grant leases. rsocket
// does not expose what is left of a connection's lease, so the balancer
// learns it from requests: one refused for want of a lease
// (rsocket.ErrNoLease, nothing sent) is tried on another instance, and the
// instance, like one whose peer answered REJECTED, is passed over for
// Config.LeaseBackoff. Leave LeaseConfig.WaitForLease off: with it a
// request waits for the lease of the instance it was sent to.
//
// # Ejection and re-admission
//
// An instance stops taking traffic when:
//
//   - its connection ends (seen by its watcher at once, and by any request
//     that meets it); it takes traffic again once the rshm.Client has
//     redialed it and it answered a Ping;
//   - its peer is closing the connection (requests fail with
//     rsocket.ErrClosing, nothing sent, and are tried elsewhere); as above
//     once the connection has ended and been redialed;
//   - it stalls: Config.MaxTimeouts requests in a row ended with their
//     ctx's deadline, or its predicted latency is above Config.StallFactor
//     times the median admitted instance's (checked every
//     Config.CheckInterval). It sits out for CheckInterval, doubled each
//     time it stalls again soon after its re-admission (up to
//     Config.MaxEjection), and is re-admitted once it answers a Ping. At
//     most half of the connected instances are ejected for stalls: when
//     more look stalled, the cause is more likely the client or the
//     requests.
//
// A re-admitted instance starts as a new one, without a prediction: it
// wins its next pick and is then passed over until that request is
// answered, so one request measures it before it gets more.
//
// A request in flight on a connection that ends fails with the
// connection's error; it is not retried, since only the application knows
// which requests are safe to repeat. A request refused before it was sent
// (no lease, or the peer closing) is retried on another instance, up to
// one try per instance. A request made while no instance is admitted waits
// for one up to its ctx, or fails at once with ErrNoInstance under
// Config.FailFast.
//
// Streams and channels are placed as requests are and stay on their
// instance's connection for their life; they count as outstanding only
// while being opened, and only request-response round trips feed the
// prediction. Metadata push goes to one instance, picked as a request.
package balance
