#!/usr/bin/env node
// ws_client.js PORT SCENARIO [options]: client.js over WebSocket
// (ws://127.0.0.1:PORT/rsocket); see ws.js.
'use strict';
require('./ws').run('client.js');
