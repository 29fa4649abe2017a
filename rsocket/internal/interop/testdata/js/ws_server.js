#!/usr/bin/env node
// ws_server.js PORT_OR_0 [options]: server.js over WebSocket, at
// ws://127.0.0.1:PORT/rsocket; see ws.js.
'use strict';
require('./ws').run('server.js');
