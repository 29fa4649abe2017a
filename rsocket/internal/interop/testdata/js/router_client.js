#!/usr/bin/env node
// router_client.js PORT
//
// An rsocket-js 0.0.27 client of an rshm router (package rsocket/router),
// the way Spring clients talk: metadata MIME type composite metadata, each
// request carrying a routing entry and an authentication entry, both encoded
// by rsocket-core (encodeCompositeMetadata, encodeRoutes,
// encodeSimpleAuthMetadata, encodeBearerAuthMetadata). The server
// (internal/interop router_test.go) accepts user/pass or the bearer token
// "token-1" and routes "echo" (request-response), "ticks" (request-stream)
// and "log" (fire-and-forget). Steps, each printing one JSON event:
//   simple    rr "echo" with simple auth: checks the echo;
//   bearer    rr "echo" with bearer auth: checks the echo;
//   stream    request-stream "ticks": checks 3 items and completion;
//   fnf       fire-and-forget "log" (the Go side checks it arrived);
//   unknown   rr "nope": expects REJECTED (0x202) naming the route;
//   unauth    rr "echo" with a wrong password: expects REJECTED.
// Exits 0 when all pass, else prints {"event":"fail",...} and exits 1.
'use strict';

const {
  RSocketClient,
  BufferEncoders,
  encodeCompositeMetadata,
  encodeRoutes,
  encodeSimpleAuthMetadata,
  encodeBearerAuthMetadata,
  MESSAGE_RSOCKET_ROUTING,
  MESSAGE_RSOCKET_AUTHENTICATION,
  MESSAGE_RSOCKET_COMPOSITE_METADATA,
} = require('rsocket-core');
const RSocketTcpClient = require('rsocket-tcp-client').default;
const {emit} = require('./common');

const port = Number(process.argv[2]);

class Failure extends Error {}

function check(cond, msg) {
  if (!cond) {
    throw new Failure(msg);
  }
}

function md(route, auth) {
  return encodeCompositeMetadata([
    [MESSAGE_RSOCKET_ROUTING, encodeRoutes(route)],
    [MESSAGE_RSOCKET_AUTHENTICATION, auth],
  ]);
}

const simple = () => encodeSimpleAuthMetadata('user', 'pass');

function rr(socket, payload) {
  return new Promise((resolve, reject) =>
    socket.requestResponse(payload).subscribe({onComplete: resolve, onError: reject}),
  );
}

async function rrError(socket, payload) {
  try {
    const res = await rr(socket, payload);
    return {ok: true, data: res.data.toString()};
  } catch (e) {
    const src = e.source || {};
    return {code: src.code, message: src.message};
  }
}

async function main() {
  const client = new RSocketClient({
    setup: {
      keepAlive: 10000,
      lifetime: 30000,
      dataMimeType: 'application/json',
      metadataMimeType: MESSAGE_RSOCKET_COMPOSITE_METADATA.string,
      payload: {data: Buffer.from('router-client')},
    },
    transport: new RSocketTcpClient({host: '127.0.0.1', port}, BufferEncoders),
  });
  const socket = await new Promise((resolve, reject) =>
    client.connect().subscribe({onComplete: resolve, onError: reject}),
  );

  let res = await rr(socket, {data: Buffer.from('hello'), metadata: md('echo', simple())});
  emit('simple', {data: res.data.toString()});
  check(res.data.toString() === 'hello', 'simple: ' + res.data);

  res = await rr(socket, {data: Buffer.from('bearer-hi'), metadata: md('echo', encodeBearerAuthMetadata('token-1'))});
  emit('bearer', {data: res.data.toString()});
  check(res.data.toString() === 'bearer-hi', 'bearer: ' + res.data);

  const items = await new Promise((resolve, reject) => {
    const got = [];
    socket.requestStream({data: Buffer.from('t'), metadata: md('ticks', simple())}).subscribe({
      onSubscribe: s => s.request(100),
      onNext: p => got.push(p.data.toString()),
      onComplete: () => resolve(got),
      onError: reject,
    });
  });
  emit('stream', {items});
  check(JSON.stringify(items) === JSON.stringify(['t-0', 't-1', 't-2']), 'stream: ' + JSON.stringify(items));

  socket.fireAndForget({data: Buffer.from('logged'), metadata: md('log', simple())});
  emit('fnf', {});

  let e = await rrError(socket, {data: Buffer.from('x'), metadata: md('nope', simple())});
  emit('unknown', e);
  check(e.code === 0x202 && /"nope"/.test(e.message), 'unknown: ' + JSON.stringify(e));

  e = await rrError(socket, {data: Buffer.from('x'), metadata: md('echo', encodeSimpleAuthMetadata('user', 'wrong'))});
  emit('unauth', e);
  check(e.code === 0x202, 'unauth: ' + JSON.stringify(e));

  emit('done', {});
  client.close();
}

const deadline = setTimeout(() => {
  emit('fail', {message: 'timed out'});
  process.exit(1);
}, 10000);

main().then(
  () => {
    clearTimeout(deadline);
    process.exit(0);
  },
  e => {
    emit('fail', {message: e && e.message ? e.message : String(e)});
    process.exit(1);
  },
);
