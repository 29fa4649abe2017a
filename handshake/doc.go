// Package handshake connects two rshm peers: over one loopback TCP port it
// tells an rshm peer from a plain RSocket-over-TCP peer, negotiates a
// shared-memory region for co-located peers, and hands the engine a
// Transport: the rings of that region (KindSHM), or RSocket over the TCP
// socket (KindTCP) for plain peers and whenever shared memory is not
// possible. The TCP socket of a shared-memory connection stays open as its
// liveness channel: its EOF tells a side within milliseconds that the peer
// process died.
//
// # Telling peers apart
//
// RSocket over TCP starts with a 24-bit frame length and then a SETUP or
// RESUME frame, whose stream id (bytes 3..6 of the connection) MUST be 0.
// Every handshake message carries the magic "RSHM" at bytes 3..6 instead, so
// the server peeks 7 bytes (with the handshake timeout) and knows. A plain
// peer's connection is handed to rsocket.NewTCPTransport with the peeked
// bytes replayed.
//
// Each handshake message is also framed as an RSocket-over-TCP frame (the
// 24-bit length counts the bytes after it), so a plain RSocket server that
// receives a hello reads exactly one frame with a non-zero stream id,
// rejects it as an invalid first frame and answers with ERROR or closes.
// The client sees bytes without the magic, or EOF, and in Auto mode dials
// again for plain TCP without waiting for a timeout.
//
// # Messages
//
// All integers are big-endian. Every message starts with a 10-byte preamble:
//
//	 0        3             7      8          10
//	+--------+-------------+------+----------+--------
//	| len:24 | "RSHM"      | type | version  | body ...
//	+--------+-------------+------+----------+--------
//	len: bytes after the length field, at most 1024
//	type: 1 hello, 2 reply, 3 proof, 4 final
//	version: the sender's protocol version (Version, 1)
//
// A receiver ignores bytes after the fields it knows, so a later version
// may append fields; a message shorter than version 1's fields is
// malformed.
//
// Client hello (type 1), 66 bytes:
//
//	10  u8    flags: 0x01 shared memory required (no fallback), 0x02 huge pages wanted
//	11  u8    wait strategy the client uses (Wait); a server left at WaitDefault adopts it
//	12  u16   reserved, zero
//	14  u32   page size
//	18  u64   wanted ring capacity, bytes per direction (0: the server's choice)
//	26  [16]  boot id, /proc/sys/kernel/random/boot_id as 16 bytes
//	42  u64   st_dev of the shm directory
//	50  u64   st_ino of the shm directory
//	58  u32   uid
//	62  u32   pid
//
// Server reply (type 2), 78 bytes and two strings:
//
//	10  u8    status: 0 accept, 1 fall back to TCP
//	11  u8    reason code when falling back (Reason)
//	12  u16   reserved, zero
//	14  u32   server pid
//	18  u32   server uid
//	22  u64   ring capacity, bytes per direction
//	30  [16]  nonce, random
//	46  [16]  server boot id
//	62  u64   st_dev of the server's shm directory
//	70  u64   st_ino of the server's shm directory
//	78  u8 n  region name length, then n bytes: "rshm-" + 32 hex digits
//	    u8 m  reason text length, then m bytes
//
// Client proof (type 3) and server final (type 4), 12 bytes and a string:
//
//	10  u8    status: 0 ok, 1 fall back to TCP
//	11  u8    reason code when falling back
//	12  u8 m  reason text length, then m bytes
//
// # Exchange
//
//	client                                         server
//	  hello  ------------------------------------>   sniff, check boot id, shm dir,
//	                                                 page size, peer uid (/proc/net/tcp);
//	                                                 a prepared region (Region.Link) or
//	                                                 CreateDuplex (0600, O_EXCL)
//	         <------------------------------------  reply {name, nonce, sizes}
//	  check the server the same way;
//	  OpenDuplex, write the nonce into the
//	  region header (shm Region.Confirm)
//	  proof  ------------------------------------>   the region holds the nonce?
//	  ===== RSocket frames through the rings =====   Unlink
//	         <------------------------------------  final ok
//	  (the liveness reader) Unlink (idempotent)
//	  ===== the socket carries nothing more =====
//
// The client does not wait for the final: once its proof is sent it hands
// the engine the rings, and its transport's liveness reader reads the final
// before it waits for the socket's end. A server that refuses at the final
// (the region does not hold the nonce) therefore ends the connection with
// an *Error naming StepFinal instead of falling back to TCP; a refusal at
// any earlier step falls back as below. Neither side faults the region's
// pages in during the handshake: the transports do that shortly after,
// if the connection is still open (shmtransport.Options.Prefault).
//
// A side that fails a check, or fails to create or map the region, says so
// in its next message (reply or proof) with status 1 and a reason;
// from then on both sides speak RSocket over TCP on the same socket. A
// client that required shared memory (SHMOnly) closes instead and returns an
// *Error naming the step. The server removes the region on every failure
// path, and every step is bounded by Config.Timeout: garbage, a half
// handshake or a slow client end with a closed socket and nothing left.
//
// # Co-location
//
// Shared memory needs the same kernel (boot ids equal), the same shm
// directory (st_dev and st_ino equal: the same tmpfs, not just the same
// path) and the same user: the server looks up the uid that owns the
// client's socket in /proc/net/tcp and /proc/net/tcp6 (the row whose local
// address is the connection's remote end and whose remote address is its
// local end) and compares it with its own; the client does the same for the
// server. The region is mode 0600 and its name is an unguessable 128-bit
// capability; the nonce proves that the peer which mapped it is the one on
// the socket.
package handshake
