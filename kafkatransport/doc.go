// Package kafkatransport carries RSocket over Kafka: an rsocket.Transport
// whose frames travel as records through a pair of topics, so that a
// requester and a responder need not be up at the same time. Requests wait
// in the log while the responder is down; a responder that stops, dies or
// gives up a partition is continued by the next one, from the offsets its
// consumer group committed and the checkpoint it kept of each connection.
// The same rsocket.Conn code runs over shared memory, TCP or a log; only the
// address changes (kafka://BROKERS/TOPIC, ParseURL).
//
// It is a module of its own (github.com/rshm/rshm/kafkatransport), so that
// the Kafka client, franz-go, is no dependency of the rshm library.
//
// # Mapping
//
// A connection is a topic pair: the responders' request topic, which every
// requester writes, and a reply topic, which the responder writes for that
// requester (by default one per connection, "<topic>.reply.<id>"; or a
// shared one, Config.ReplyTopic). Every record of a connection, either way,
// carries one RSocket frame and is keyed by the connection's id, so Kafka
// keeps the connection's frames in one partition, in order. Dial announces
// the connection with a connect record naming its reply topic and waits
// for the responder's confirm record; either side ends it with a close
// record. The layout is in record.go.
//
// Responders (Listen) form a consumer group on the request topic. Each
// hands out one transport per connection of its partitions (Accept,
// Serve), and checkpoints every Config.CheckpointInterval: for each
// connection, on the compacted topic "<topic>.sessions", its SETUP, the
// offset up to which its records were given to the engine, the offsets of
// the requests it has not finished, and the streams under way; then it
// commits, per partition, the lowest offset a successor must read again.
//
// # Guarantees
//
//   - A requester's frame that Kafka acknowledged is in the log: it reaches
//     a responder unless the topic's retention (Config.Retention) deletes
//     it first, or it is a request older than Config.MaxRequestAge, which
//     is refused (ERROR[REJECTED]) rather than served late.
//   - A responder that stops (Listener.Close, Shutdown, or a rebalance)
//     hands its connections over exactly: every fire-and-forget it took is
//     not given to the next responder, every request-response it did not
//     answer is, and the streams and channels under way end with
//     ERROR[CANCELED] ("responder stopped").
//   - A responder that dies hands over its last checkpoint: what it did
//     since is done again (fire-and-forgets delivered twice, a
//     request-response answered twice, of which the requester keeps the
//     first), and the streams under way at the checkpoint end with
//     ERROR[CANCELED] ("responder restarted").
//   - The requester's connection does not notice a responder change, but
//     for its keepalive: a responder that is down sends nothing, so
//     rsocket.ClientConfig.MaxLifetime must cover the longest outage to
//     ride out.
//
// docs/design.md ("RSocket over Kafka") gives the reasons, and
// docs/operations.md the recipe for a real cluster.
package kafkatransport
