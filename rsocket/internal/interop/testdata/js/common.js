// Shared helpers for the rsocket-js 0.0.27 interop peers (server.js, client.js, lease_server.js, metadata_server.js).
//
// Everything the peers print on stdout is one JSON object per line, so the Go
// tests in internal/interop can parse it; diagnostics go to stderr.
'use strict';

const crypto = require('crypto');
const {FLAGS, FRAME_TYPES} = require('rsocket-core');

// emit prints one event as a JSON line on stdout.
function emit(event, fields) {
  process.stdout.write(JSON.stringify(Object.assign({event}, fields || {})) + '\n');
}

// describe summarises a payload for the event log: short values verbatim,
// every value by length and SHA-256 prefix so large payloads can be compared.
function describe(payload) {
  const out = {};
  for (const k of ['data', 'metadata']) {
    const v = payload ? payload[k] : undefined;
    if (v === undefined || v === null) {
      continue;
    }
    const b = Buffer.isBuffer(v) ? v : Buffer.from(String(v));
    out[k + 'Len'] = b.length;
    out[k + 'Sha'] = sha(b);
    if (b.length <= 256) {
      out[k] = b.toString('utf8');
    }
  }
  return out;
}

function sha(b) {
  return crypto.createHash('sha256').update(b).digest('hex').slice(0, 16);
}

// pattern returns n deterministic bytes (the Go tests build the same ones:
// byte i is 'a' + (i*7+seed) % 26).
function pattern(n, seed) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) {
    b[i] = 97 + ((i * 7 + seed) % 26);
  }
  return b;
}

// parseArgs splits argv into positional arguments and --name value options
// (--flag without a value, when the next argument is missing or an option,
// is true).
function parseArgs(argv) {
  const pos = [];
  const opts = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) {
      const name = a.slice(2);
      if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) {
        opts[name] = argv[++i];
      } else {
        opts[name] = true;
      }
    } else {
      pos.push(a);
    }
  }
  return {pos, opts};
}

// Frame header sizes, without the 24-bit TCP length prefix.
const HEADER = 6;

function fixedSize(type) {
  switch (type) {
    case FRAME_TYPES.REQUEST_STREAM:
    case FRAME_TYPES.REQUEST_CHANNEL:
      return HEADER + 4; // initial request-n
    default:
      return HEADER;
  }
}

function fragmentable(frame) {
  switch (frame.type) {
    case FRAME_TYPES.REQUEST_FNF:
    case FRAME_TYPES.REQUEST_RESPONSE:
    case FRAME_TYPES.REQUEST_STREAM:
    case FRAME_TYPES.REQUEST_CHANNEL:
      return true;
    case FRAME_TYPES.PAYLOAD:
      return (frame.flags & FLAGS.NEXT) !== 0;
    default:
      return false;
  }
}

function len(v) {
  return v === undefined || v === null ? 0 : v.length;
}

// fragment splits one frame into frames of at most mtu bytes (length prefix
// not counted), as RSocket 1.0 "Fragmentation and Reassembly" describes:
// metadata completely before data, the first fragment keeps the frame type,
// later fragments are PAYLOAD frames, every fragment but the last carries F,
// and C (on a PAYLOAD) moves to the last fragment. rsocket-js 0.0.27 has no
// fragmenter of its own (it only reassembles), so this is harness code.
function fragment(frame, mtu) {
  const hasMd = (frame.flags & FLAGS.METADATA) !== 0 && frame.metadata != null;
  const total =
    fixedSize(frame.type) + (hasMd ? 3 + len(frame.metadata) : 0) + len(frame.data);
  if (!mtu || !fragmentable(frame) || total <= mtu) {
    return [frame];
  }
  let md = hasMd ? frame.metadata : Buffer.alloc(0);
  let data = frame.data == null ? Buffer.alloc(0) : frame.data;
  const complete = frame.type === FRAME_TYPES.PAYLOAD && (frame.flags & FLAGS.COMPLETE) !== 0;
  const out = [];
  let first = true;
  while (first || md.length > 0 || data.length > 0) {
    const type = first ? frame.type : FRAME_TYPES.PAYLOAD;
    let room = mtu - fixedSize(type);
    let mdChunk = null;
    if (md.length > 0) {
      room -= 3;
      const n = Math.min(room, md.length);
      mdChunk = md.slice(0, n);
      md = md.slice(n);
      room -= n;
    }
    const dn = Math.max(0, Math.min(room, data.length));
    const dataChunk = data.slice(0, dn);
    data = data.slice(dn);
    const last = md.length === 0 && data.length === 0;
    let flags = first ? frame.flags & ~(FLAGS.METADATA | FLAGS.COMPLETE) : FLAGS.NEXT;
    if (mdChunk !== null) {
      flags |= FLAGS.METADATA;
    }
    if (!last) {
      flags |= FLAGS.FOLLOWS;
    } else if (complete) {
      flags |= FLAGS.COMPLETE;
    }
    const f = Object.assign({}, frame, {type, flags, data: dataChunk, metadata: mdChunk});
    if (!first) {
      delete f.requestN;
    }
    out.push(f);
    first = false;
  }
  return out;
}

// wrapConnection decorates a DuplexConnection's sending side:
//   mtu          fragment outgoing frames larger than mtu bytes;
//   fixMetadata  set M on PAYLOAD frames that carry metadata. rsocket-js 0.0.27
//                builds responder PAYLOAD frames with flags NEXT|COMPLETE only
//                (RSocketMachine._sendStreamPayload), so the serializer drops
//                their metadata; this restores it (see the interop report);
//   fixMetadataPush  set M on METADATA_PUSH. rsocket-js 0.0.27 sends it with
//                flags 0 (RSocketMachine.metadataPush), although the spec
//                says metadata is always present (M set).
function wrapConnection(conn, {mtu, fixMetadata, fixMetadataPush}) {
  const sendOne = conn.sendOne.bind(conn);
  conn.sendOne = frame => {
    if (fixMetadataPush && frame.type === FRAME_TYPES.METADATA_PUSH) {
      frame = Object.assign({}, frame, {flags: frame.flags | FLAGS.METADATA});
    }
    if (
      fixMetadata &&
      frame.type === FRAME_TYPES.PAYLOAD &&
      frame.metadata != null &&
      (frame.flags & FLAGS.METADATA) === 0
    ) {
      frame = Object.assign({}, frame, {flags: frame.flags | FLAGS.METADATA});
    }
    for (const f of fragment(frame, mtu)) {
      sendOne(f);
    }
  };
  return conn;
}

// listenTCP returns an rsocket-js TCP server transport on 127.0.0.1:port
// that prints "LISTENING <port>" once it listens (port 0: a free one).
function listenTCP(port) {
  const net = require('net');
  const {BufferEncoders} = require('rsocket-core');
  const RSocketTCPServer = require('rsocket-tcp-server').default;
  return new RSocketTCPServer(
    {
      host: '127.0.0.1',
      port,
      serverFactory: onConnect => {
        const srv = net.createServer(onConnect);
        srv.on('listening', () => process.stdout.write('LISTENING ' + srv.address().port + '\n'));
        return srv;
      },
    },
    BufferEncoders,
  );
}

// serveUntilStopped starts server and stops it (and the process) on SIGTERM,
// SIGINT, or, with --watch-stdin, when stdin closes: the Go tests hold our
// stdin open, so a server never outlives the test process that started it.
function serveUntilStopped(server, opts) {
  server.start();
  const shutdown = () => {
    server.stop();
    process.exit(0);
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  if (opts['watch-stdin']) {
    process.stdin.on('end', shutdown);
    process.stdin.resume();
  }
}

module.exports = {emit, describe, sha, pattern, parseArgs, fragment, wrapConnection, listenTCP, serveUntilStopped};
