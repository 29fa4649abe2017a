#!/usr/bin/env node
// lease_client.js PORT SCENARIO [--sync-lease]
//
// An rsocket-js 0.0.27 TCP client with leasing (RSocketClient `leases`),
// for the lease interop test (internal/interop lease_test.go) against an
// rshm server with ServerConfig.Lease, which grants 2 requests for 60 s and,
// once it holds a lease from us, makes request-responses to us.
//   - it grants the server one LEASE of 1 request for 60 s, sent on the
//     next tick (--sync-lease: at once, from Flowable.just, which makes
//     rsocket-js send it before SETUP);
//   - event "lease" {ttl, n} for every LEASE from the server;
//   - once the first arrived: request-responses "js-0" and "js-1" (within
//     the lease: events "rr" {index, data} or "rrError" {index, code,
//     message}), then "js-2", which rsocket-js itself refuses (no request
//     left), then, with its lease check disabled (harness: the requester
//     lease handler's use() patched to return true), "js-3", which the
//     server must answer with REJECTED;
//   - request-responses from the server are echoed (event "served" {data});
//   - after the requests it waits for --linger ms (default 500) so that the
//     server can make its requests, prints "done" and exits 0.
// SCENARIO is "lease" (the only one). Failures print {"event":"fail",...}
// and exit 1.
'use strict';

const {RSocketClient, BufferEncoders, Lease, Leases} = require('rsocket-core');
const {RequesterLeaseHandler} = require('rsocket-core/build/RSocketLease');
const RSocketTcpClient = require('rsocket-tcp-client').default;
const {Flowable, Single} = require('rsocket-flowable');
const {emit, parseArgs} = require('./common');

const {pos, opts} = parseArgs(process.argv.slice(2));
const port = Number(pos[0]);
const linger = Number(opts.linger || 500);

function fail(e) {
  emit('fail', {message: e && e.message ? e.message : String(e)});
  process.exit(1);
}

let gotLease;
const firstLease = new Promise(resolve => (gotLease = resolve));

// grant sends our one lease: at once (Flowable.just) or on the next tick.
const grant = () => {
  const lease = new Lease(60000, 1);
  if (opts['sync-lease']) {
    return Flowable.just(lease);
  }
  return new Flowable(subscriber => {
    let cancelled = false;
    subscriber.onSubscribe({
      request: () => {},
      cancel: () => {
        cancelled = true;
      },
    });
    setImmediate(() => {
      if (!cancelled) {
        subscriber.onNext(lease);
      }
    });
  });
};

const leases = () =>
  new Leases().sender(grant).receiver(received =>
    received.subscribe({
      onSubscribe: s => s.request(1 << 30),
      onNext: l => {
        emit('lease', {ttl: l.timeToLiveMillis, n: l.allowedRequests});
        // Let the lease handler record it before using it.
        setImmediate(gotLease);
      },
    }),
  );

function rr(socket, index) {
  return new Promise(resolve =>
    socket.requestResponse({data: Buffer.from('js-' + index)}).subscribe({
      onComplete: p => {
        emit('rr', {index, data: p.data == null ? '' : p.data.toString('utf8')});
        resolve();
      },
      onError: e => {
        const src = e.source || {};
        emit('rrError', {index, code: src.code, message: e.message});
        resolve();
      },
    }),
  );
}

async function main() {
  const client = new RSocketClient({
    setup: {
      keepAlive: 10000,
      lifetime: 30000,
      dataMimeType: 'application/octet-stream',
      metadataMimeType: 'application/octet-stream',
      payload: {data: Buffer.from('lease-client')},
    },
    transport: new RSocketTcpClient({host: '127.0.0.1', port}, BufferEncoders),
    leases,
    responder: {
      requestResponse(p) {
        const data = p.data == null ? '' : p.data.toString('utf8');
        emit('served', {data});
        return Single.of({data: Buffer.from(data)});
      },
    },
    errorHandler: e => emit('connectionError', {message: e.message}),
  });
  const socket = await new Promise((resolve, reject) =>
    client.connect().subscribe({onComplete: resolve, onError: reject}),
  );
  emit('connected', {});
  let finished = false;
  socket.connectionStatus().subscribe({
    onSubscribe: s => s.request(0x7fffffff),
    onNext: status => {
      if (!finished && (status.kind === 'CLOSED' || status.kind === 'ERROR')) {
        fail(new Error('connection ' + status.kind + (status.error ? ': ' + status.error.message : '')));
      }
    },
  });
  await firstLease;
  for (let i = 0; i < 3; i++) {
    await rr(socket, i);
  }
  RequesterLeaseHandler.prototype.use = () => true;
  await rr(socket, 3);
  await new Promise(r => setTimeout(r, linger));
  emit('done', {});
  finished = true;
  client.close();
}

const deadline = setTimeout(() => fail(new Error('timed out')), 10000);

main().then(() => {
  clearTimeout(deadline);
  process.exit(0);
}, fail);
