#!/usr/bin/env node
// gen.js prints the golden vectors of package metadata as JSON, encoded by
// rsocket-js 0.0.27 (rsocket-core) itself:
//
//   node gen.js > vectors.json
//
// rsocket-core is taken from rsocket/internal/interop/testdata/js/node_modules
// (run `npm ci` there), or from the directory named by RSOCKET_CORE. The Go
// test TestVectorsCurrent re-runs this script and fails if vectors.json
// differs.
// rsocket-js 0.0.27 has no codec for tracing or the per-stream MIME type
// entries; their golden bytes are in the Go tests, from the specification.
'use strict';

const path = require('path');
const coreDir =
  process.env.RSOCKET_CORE ||
  path.join(__dirname, '../../internal/interop/testdata/js/node_modules/rsocket-core');
const core = require(coreDir);
const coreVersion = require(path.join(coreDir, 'package.json')).version;

const hex = b => Buffer.from(b).toString('hex');
const vectors = [];

function add(kind, name, input, bytes) {
  vectors.push(Object.assign({kind, name}, input, {hex: hex(bytes)}));
}

// Routing: encodeRoutes.
for (const [name, tags] of [
  ['one', ['echo']],
  ['two', ['/person/1', 'ios-client']],
  ['utf8', ['/caf\u00e9/\u2603']],
  ['empty-tag', ['', 'x']],
  ['max', ['r'.repeat(255)]],
]) {
  add('routing', name, {tags}, core.encodeRoutes(...tags));
}

// Authentication: simple, bearer, custom.
for (const [name, user, pass] of [
  ['simple', 'user', 'pass'],
  ['simple-empty', '', ''],
  ['simple-utf8', 'j\u00fcrgen', 'p\u00e4ss:w0rd'],
]) {
  add('auth-simple', name, {username: user, password: pass}, core.encodeSimpleAuthMetadata(user, pass));
}
for (const [name, token] of [
  ['bearer', 'eyJhbGciOiJIUzI1NiJ9.e30.sig'],
  ['bearer-empty', ''],
]) {
  add('auth-bearer', name, {token}, core.encodeBearerAuthMetadata(token));
}
for (const [name, type, payload] of [
  ['custom', 'x-token', 'secret'],
  ['custom-1', 'a', ''],
  ['custom-128', 'c'.repeat(128), 'p'],
]) {
  add('auth-custom', name, {authType: type, payload: hex(Buffer.from(payload))}, core.encodeCustomAuthMetadata(type, Buffer.from(payload)));
}

// Composite metadata: entries are {id} (a WellKnownMimeType) or {mime} (a
// string, which rsocket-js always writes in the custom form).
function composite(name, entries) {
  const m = new Map();
  for (const e of entries) {
    let key = e.mime;
    if (e.id !== undefined) {
      // A reserved id has no WellKnownMimeType: rsocket-js takes the number.
      const t = core.WellKnownMimeType.fromIdentifier(e.id);
      key = t.identifier === e.id ? t : e.id;
    }
    m.set(key, Buffer.from(e.content, 'hex'));
  }
  add('composite', name, {entries}, core.encodeCompositeMetadata(m));
}

composite('routing', [{id: 0x7e, content: hex(core.encodeRoutes('echo'))}]);
composite('routing-simple-auth', [
  {id: 0x7e, content: hex(core.encodeRoutes('echo'))},
  {id: 0x7c, content: hex(core.encodeSimpleAuthMetadata('user', 'pass'))},
]);
composite('routing-bearer-auth', [
  {id: 0x7e, content: hex(core.encodeRoutes('/person/1', 'tag'))},
  {id: 0x7c, content: hex(core.encodeBearerAuthMetadata('token123'))},
]);
composite('well-known-json', [{id: 0x05, content: hex(Buffer.from('{"a":1}'))}]);
composite('custom', [{mime: 'application/x.custom', content: hex(Buffer.from('hello'))}]);
composite('custom-1', [{mime: 'a', content: ''}]);
composite('custom-128', [{mime: 'm'.repeat(128), content: '00ff'}]);
composite('custom-well-known-name', [{mime: 'application/json', content: hex(Buffer.from('{}'))}]);
composite('empty-content', [{id: 0x21, content: ''}]);
composite('content-300', [{id: 0x06, content: hex(Buffer.alloc(300, 7))}]);
composite('mixed', [
  {id: 0x7e, content: hex(core.encodeRoutes('a.b'))},
  {mime: 'text/x-custom', content: hex(Buffer.from('x'))},
  {id: 0x40, content: 'abcd'},
]);

process.stdout.write(JSON.stringify({generator: 'rsocket-core ' + coreVersion, vectors}, null, 1) + '\n');
