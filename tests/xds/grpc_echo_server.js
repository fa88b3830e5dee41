// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Servers for tests/xds/grpc_echo_test.sh, all on loopback, free ports:
//   grpc    grpc-js serving kmesh.test.Echo/Chat (echo.proto): a real gRPC
//           stack, as istiod's grpc-go is one
//   raw     node's http2 (nghttp2 inside) misbehaving on purpose, chosen by
//           the request's :path (/raw/<case>): HTTP errors, GOAWAY,
//           RST_STREAM, compressed or oversized messages, odd DATA splits
//   raw6    the same on [::1], when the host has IPv6 loopback
//   silent  TCP that accepts and reads but never answers (keepalive timeout)
// Prints one line, "ports grpc=N raw=N raw6=N silent=N" (raw6=0 without
// IPv6), then serves until killed. Needs NODE_PATH to hold @grpc/grpc-js
// and @grpc/proto-loader.
'use strict';

const http2 = require('http2');
const net = require('net');
const path = require('path');
const grpc = require('@grpc/grpc-js');
const loader = require('@grpc/proto-loader');

// The test pattern the C client checks big payloads against.
function pattern(n) {
	const b = Buffer.allocUnsafe(n);
	for (let i = 0; i < n; i++)
		b[i] = (i * 7 + 3) & 0xff;
	return b;
}

// gRPC message prefix: flag, 4-byte big-endian length.
function prefix(flag, len) {
	const p = Buffer.alloc(5);
	p[0] = flag;
	p.writeUInt32BE(len, 1);
	return p;
}

function grpcMsg(payload) {
	return Buffer.concat([prefix(0, payload.length), payload]);
}

// ---- grpc: the echo service, connections injected so that "abort" and
// "close" can reach the call's TCP socket (grpc-js does not expose it)
const sockets = new Map();	// "addr:port" -> socket

function chat(call) {
	call.on('data', (m) => {
		switch (m.cmd || '') {
		case '':
			call.write(m);
			break;
		case 'big':
			call.write({ payload: pattern(m.size) });
			break;
		case 'status':
			call.emit('error', { code: m.code, details: m.message });
			break;
		case 'end':
			call.end();
			break;
		case 'abort':
		case 'close': {
			const s = sockets.get(call.getPeer());
			if (!s) {
				call.emit('error', { code: grpc.status.INTERNAL,
					details: 'no socket for ' + call.getPeer() });
				break;
			}
			if (m.cmd === 'abort')
				s.resetAndDestroy();
			else
				s.destroy();
			break;
		}
		default:
			call.emit('error', { code: grpc.status.INVALID_ARGUMENT,
				details: 'unknown cmd ' + m.cmd });
		}
	});
	call.on('end', () => call.end());
	call.on('error', () => {});
}

function grpcServer() {
	const def = loader.loadSync(path.join(__dirname, 'echo.proto'),
		{ keepCase: true, defaults: false, longs: Number });
	const proto = grpc.loadPackageDefinition(def).kmesh.test;
	const server = new grpc.Server();
	server.addService(proto.Echo.service, { Chat: chat });
	const inj = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
	const tcp = net.createServer((s) => {
		const key = s.remoteAddress + ':' + s.remotePort;
		sockets.set(key, s);
		s.on('close', () => sockets.delete(key));
		s.on('error', () => {});
		inj.injectConnection(s);
	});
	return listen(tcp, '127.0.0.1');
}

// ---- raw: one misbehaviour per :path
const GRPC_HDRS = { ':status': 200, 'content-type': 'application/grpc' };

// Writes @chunks one per DATA frame (a macrotask apart, so node cannot
// coalesce them), then @done.
function writeApart(stream, chunks, done) {
	if (!chunks.length)
		return done();
	stream.write(chunks[0], () => setTimeout(() => writeApart(stream, chunks.slice(1), done), 2));
}

function rawStream(stream, headers) {
	const c = headers[':path'].replace(/^\/raw\//, '');
	const ses = stream.session;
	stream.on('error', () => {});
	stream.on('data', () => {});
	switch (c) {
	case 'http503':
		stream.respond({ ':status': 503, 'content-type': 'text/plain' });
		stream.end('unavailable');
		break;
	case 'trailers-only':
		stream.respond({ ...GRPC_HDRS, 'grpc-status': '7',
			'grpc-message': 'denied%20here%3A%20%E2%9C%93%2050%25' }, { endStream: true });
		break;
	case 'bad-content-type':
		stream.respond({ ':status': 200, 'content-type': 'text/html' });
		stream.end('<html>');
		break;
	case 'no-grpc-status':
		stream.respond(GRPC_HDRS, { waitForTrailers: true });
		stream.on('wantTrailers', () => stream.sendTrailers({ 'x-other': '1' }));
		stream.end(grpcMsg(Buffer.from('hi')));
		break;
	case 'no-trailers':
		stream.respond(GRPC_HDRS);
		stream.end(grpcMsg(Buffer.from('hi')));
		break;
	case 'compressed':
		stream.respond(GRPC_HDRS);
		stream.write(grpcMsg(Buffer.from('ok')));
		stream.write(Buffer.concat([prefix(1, 3), Buffer.from([1, 2, 3])]));
		break;
	case 'oversize':
		// the prefix alone: the client must give up without the payload
		stream.respond(GRPC_HDRS);
		stream.write(prefix(0, (64 << 20) + 1));
		break;
	case 'goaway':
		stream.respond(GRPC_HDRS);
		ses.goaway(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM, 0,
			Buffer.from('too_many_pings'));
		break;
	case 'goaway-graceful':
		stream.respond(GRPC_HDRS);
		ses.goaway(http2.constants.NGHTTP2_NO_ERROR, 1, Buffer.from('max_age'));
		break;
	case 'rst':
		// before any response: node's close() ends a responded
		// stream with an empty DATA END_STREAM first
		setTimeout(() => stream.close(http2.constants.NGHTTP2_CANCEL), 10);
		break;
	case 'split': {
		// three messages ("a", 300 x "b", "") cut at odd places across
		// DATA frames, then one frame holding three more
		const all = Buffer.concat([grpcMsg(Buffer.from('a')),
			grpcMsg(Buffer.alloc(300, 'b')), grpcMsg(Buffer.alloc(0))]);
		const cuts = [1, 4, 6, 7, 200, 305];
		const chunks = [];
		let from = 0;
		for (const to of cuts.concat([all.length])) {
			chunks.push(all.subarray(from, to));
			from = to;
		}
		chunks.push(Buffer.concat([grpcMsg(Buffer.from('x')),
			grpcMsg(Buffer.from('yy')), grpcMsg(Buffer.from('zzz'))]));
		stream.respond(GRPC_HDRS, { waitForTrailers: true });
		stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
		writeApart(stream, chunks, () => stream.end());
		break;
	}
	case 'info': {
		// what the client sent: request headers and its flow-control
		// settings, as one JSON message
		const info = {
			headers,
			initialWindowSize: ses.remoteSettings.initialWindowSize,
			// bytes we may send on the connection before a
			// WINDOW_UPDATE: the client's connection window
			remoteWindowSize: ses.state.remoteWindowSize,
		};
		stream.respond(GRPC_HDRS, { waitForTrailers: true });
		stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
		stream.end(grpcMsg(Buffer.from(JSON.stringify(info))));
		break;
	}
	default:
		stream.respond({ ...GRPC_HDRS, 'grpc-status': '12',
			'grpc-message': 'unknown raw case' }, { endStream: true });
	}
}

function rawServer(host) {
	const s = http2.createServer();
	s.on('stream', rawStream);
	s.on('sessionError', () => {});
	return listen(s, host);
}

function silentServer() {
	const held = [];
	const s = net.createServer((c) => {
		held.push(c);
		c.on('data', () => {});
		c.on('error', () => {});
	});
	return listen(s, '127.0.0.1');
}

function listen(server, host) {
	return new Promise((resolve) => {
		server.once('error', () => resolve(0));
		server.listen(0, host, () => resolve(server.address().port));
	});
}

(async () => {
	const ports = {
		grpc: await grpcServer(),
		raw: await rawServer('127.0.0.1'),
		raw6: await rawServer('::1'),
		silent: await silentServer(),
	};
	if (!ports.grpc || !ports.raw || !ports.silent) {
		console.error('listen failed: ' + JSON.stringify(ports));
		process.exit(1);
	}
	console.log(`ports grpc=${ports.grpc} raw=${ports.raw} raw6=${ports.raw6} silent=${ports.silent}`);
})();
