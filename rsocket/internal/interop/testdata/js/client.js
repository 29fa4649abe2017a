#!/usr/bin/env node
// client.js PORT SCENARIO [--mtu N] [--size N] [--no-metadata-echo] [--fix-metadata-push]
//
// An rsocket-js 0.0.27 TCP client that runs one scenario against a server that
// answers like `rshm serve` (or server.js), prints JSON result lines and exits
// 0, or prints {"event":"fail",...} and exits 1. Scenarios:
//   rr            request-response with data and metadata; checks the echo;
//   fnf           fire-and-forget, then a request-response so that the server
//                 has handled it before we exit;
//   stream        request-stream "count:5": request(3), checks that exactly 3
//                 arrive and nothing more for 300 ms, request(2), checks 3, 4
//                 and completion;
//   channel       request-channel a, b, c (metadata on b): checks the echo and
//                 completion;
//   metadataPush  metadata push, then a request-response (ordering);
//   error         request-response "error": expects APPLICATION_ERROR (0x201)
//                 with message "requested error";
//   cancel        request-stream "count:1000000", request(5), cancels after 5
//                 items, checks nothing more arrives;
//   keepalive     with keep-alive 100 ms and max lifetime 800 ms, stays idle
//                 1.5 s, then makes a request-response: only works if the
//                 server answers KEEPALIVE (rsocket-js closes the connection
//                 after a lifetime without one);
//   large         request-response, request-stream and request-channel with
//                 --size (default 10240) bytes of data and half as much
//                 metadata, compared by content.
// --mtu N fragments outgoing frames above N bytes (harness code: rsocket-js
// 0.0.27 has no fragmenter; it does reassemble). --no-metadata-echo skips the
// metadata comparisons (for a server that cannot echo metadata).
// --fix-metadata-push sets the M flag rsocket-js 0.0.27 leaves clear on
// METADATA_PUSH (see common.js wrapConnection).
'use strict';

const {RSocketClient, BufferEncoders} = require('rsocket-core');
const RSocketTcpClient = require('rsocket-tcp-client').default;
const {Flowable} = require('rsocket-flowable');
const {emit, describe, sha, pattern, parseArgs, wrapConnection} = require('./common');

const MAX_REQUEST_N = 0x7fffffff;
const QUIET_MS = 300;

const {pos, opts} = parseArgs(process.argv.slice(2));
const port = Number(pos[0]);
const scenario = pos[1];
const mtu = opts.mtu ? Number(opts.mtu) : 0;
const size = opts.size ? Number(opts.size) : 10240;
const echoMetadata = !opts['no-metadata-echo'];
const fixMetadataPush = !!opts['fix-metadata-push'];

class Failure extends Error {}

function check(cond, msg) {
  if (!cond) {
    throw new Failure(msg);
  }
}

function text(b) {
  return b == null ? null : b.toString('utf8');
}

function sleep(ms) {
  return new Promise(r => setTimeout(r, ms));
}

function rr(socket, payload) {
  return new Promise((resolve, reject) =>
    socket.requestResponse(payload).subscribe({onComplete: resolve, onError: reject}),
  );
}

// collect subscribes to a Flowable and returns a handle whose items, done and
// error fields fill in as frames arrive.
function collect(flowable, initial) {
  const h = {items: [], done: false, error: null, sub: null, waiters: []};
  const wake = () => {
    const w = h.waiters;
    h.waiters = [];
    w.forEach(f => f());
  };
  flowable.subscribe({
    onSubscribe: s => {
      h.sub = s;
      if (initial > 0) {
        s.request(initial);
      }
    },
    onNext: p => {
      h.items.push(p);
      wake();
    },
    onComplete: () => {
      h.done = true;
      wake();
    },
    onError: e => {
      h.error = e;
      wake();
    },
  });
  h.until = (pred, ms) =>
    new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Failure('timeout after ' + ms + ' ms; have ' + h.items.length + ' items')), ms);
      const test = () => {
        if (h.error) {
          clearTimeout(t);
          reject(h.error);
        } else if (pred()) {
          clearTimeout(t);
          resolve();
        } else {
          h.waiters.push(test);
        }
      };
      test();
    });
  return h;
}

const scenarios = {
  async rr(socket) {
    const res = await rr(socket, {data: Buffer.from('hello'), metadata: Buffer.from('meta')});
    emit('response', describe(res));
    check(text(res.data) === 'hello', 'data: got ' + text(res.data) + ', want hello');
    if (echoMetadata) {
      check(text(res.metadata) === 'meta', 'metadata: got ' + text(res.metadata) + ', want meta');
    }
  },

  async fnf(socket) {
    socket.fireAndForget({data: Buffer.from('fire'), metadata: Buffer.from('fnf-meta')});
    emit('sent', {model: 'fnf'});
    const res = await rr(socket, {data: Buffer.from('after-fnf')});
    emit('response', describe(res));
  },

  async stream(socket) {
    const h = collect(socket.requestStream({data: Buffer.from('count:5')}), 3);
    await h.until(() => h.items.length >= 3, 5000);
    await sleep(QUIET_MS);
    check(h.items.length === 3 && !h.done, 'after request(3): got ' + h.items.length + ' items, done=' + h.done);
    emit('batch', {n: 3, got: h.items.map(p => text(p.data))});
    h.sub.request(2);
    await h.until(() => h.done, 5000);
    const got = h.items.map(p => text(p.data));
    emit('batch', {n: 2, got: got.slice(3)});
    check(JSON.stringify(got) === JSON.stringify(['0', '1', '2', '3', '4']), 'items: ' + JSON.stringify(got));
    emit('complete', {count: got.length});
  },

  async channel(socket) {
    const input = Flowable.just(
      {data: Buffer.from('a')},
      {data: Buffer.from('b'), metadata: Buffer.from('mb')},
      {data: Buffer.from('c')},
    );
    const h = collect(socket.requestChannel(input), MAX_REQUEST_N);
    await h.until(() => h.done, 5000);
    const got = h.items.map(p => text(p.data));
    h.items.forEach(p => emit('next', describe(p)));
    check(JSON.stringify(got) === JSON.stringify(['a', 'b', 'c']), 'items: ' + JSON.stringify(got));
    if (echoMetadata) {
      check(text(h.items[1].metadata) === 'mb', 'metadata of b: ' + text(h.items[1].metadata));
    }
    emit('complete', {count: got.length});
  },

  async metadataPush(socket) {
    await new Promise((resolve, reject) =>
      socket.metadataPush({metadata: Buffer.from('pushed')}).subscribe({onComplete: resolve, onError: reject}),
    );
    emit('sent', {model: 'metadataPush'});
    const res = await rr(socket, {data: Buffer.from('after-push')});
    emit('response', describe(res));
  },

  async error(socket) {
    let err = null;
    try {
      const res = await rr(socket, {data: Buffer.from('error')});
      emit('response', describe(res));
    } catch (e) {
      err = e;
    }
    check(err !== null, 'request-response "error" succeeded');
    const src = err.source || {};
    emit('error', {code: src.code, message: src.message});
    check(src.code === 0x201, 'code: got ' + src.code + ', want 0x201');
    check(src.message === 'requested error', 'message: ' + src.message);
  },

  async cancel(socket) {
    const h = collect(socket.requestStream({data: Buffer.from('count:1000000')}), 5);
    await h.until(() => h.items.length >= 5, 5000);
    h.sub.cancel();
    emit('cancelled', {received: h.items.length});
    await sleep(QUIET_MS);
    check(h.items.length === 5, 'items after cancel: ' + h.items.length);
    // The connection still works.
    const res = await rr(socket, {data: Buffer.from('after-cancel')});
    check(text(res.data) === 'after-cancel', 'rr after cancel: ' + text(res.data));
    emit('response', describe(res));
  },

  async keepalive(socket) {
    await sleep(1500);
    const res = await rr(socket, {data: Buffer.from('still-alive')});
    check(text(res.data) === 'still-alive', 'rr after idle: ' + text(res.data));
    emit('response', describe(res));
  },

  async large(socket) {
    const data = pattern(size, 1);
    const md = pattern(size >> 1, 2);
    const same = (what, p) => {
      emit(what, describe(p));
      check(p.data && Buffer.compare(p.data, data) === 0, what + ': data differs (' + (p.data ? p.data.length : 0) + ' bytes)');
      if (echoMetadata) {
        check(p.metadata && Buffer.compare(p.metadata, md) === 0, what + ': metadata differs');
      }
    };
    same('rr', await rr(socket, {data, metadata: md}));

    const ch = collect(
      socket.requestChannel(Flowable.just({data, metadata: md}, {data, metadata: md})),
      MAX_REQUEST_N,
    );
    await ch.until(() => ch.done, 10000);
    check(ch.items.length === 2, 'channel items: ' + ch.items.length);
    ch.items.forEach(p => same('channel', p));
    emit('complete', {dataSha: sha(data), metadataSha: sha(md)});
  },
};

async function main() {
  const run = scenarios[scenario];
  if (!run || !port) {
    process.stderr.write('usage: client.js PORT ' + Object.keys(scenarios).join('|') + ' [--mtu N]\n');
    process.exit(2);
  }
  const transport = wrapConnection(new RSocketTcpClient({host: '127.0.0.1', port}, BufferEncoders), {mtu, fixMetadataPush});
  const client = new RSocketClient({
    setup: {
      keepAlive: scenario === 'keepalive' ? 100 : 10000,
      lifetime: scenario === 'keepalive' ? 800 : 30000,
      dataMimeType: 'application/octet-stream',
      metadataMimeType: 'application/octet-stream',
      payload: {data: Buffer.from('js-client')},
    },
    transport,
  });
  const socket = await new Promise((resolve, reject) =>
    client.connect().subscribe({onComplete: resolve, onError: reject}),
  );
  emit('connected', {});
  await run(socket);
  emit('done', {scenario});
  client.close();
}

const deadline = setTimeout(() => {
  emit('fail', {scenario, message: 'scenario timed out'});
  process.exit(1);
}, 20000);

main().then(
  () => {
    clearTimeout(deadline);
    process.exit(0);
  },
  e => {
    emit('fail', {scenario, message: e && e.message ? e.message : String(e)});
    process.exit(1);
  },
);
