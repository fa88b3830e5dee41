#!/usr/bin/env node
// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * A tiny ADS client for tests/xds/server_selftest.sh (stands in for the C
 * client until it exists). Behaves like a minimal Envoy: CDS and LDS as
 * wildcards, EDS for the EDS clusters it got, ACKs what it accepts, NACKs
 * (INVALID_ARGUMENT) any CDS response that has the cluster --nack-cluster,
 * reconnects (200 ms) whenever the stream ends, re-requesting with the
 * versions it had accepted (SotW) or its resource versions (delta).
 * One JSON line per event on stdout:
 *   {"ev":"stream","n":1}
 *   {"ev":"response","kind":"sotw","type":"Cluster","version":"1",
 *    "nonce":"n3","count":2,"names":[...],"bytes":123,"nack":null}
 *   {"ev":"closed","code":14,"details":"..."}
 *
 *   node selftest_client.js --port P [--delta] [--nack-cluster NAME]
 *        [--node-id ID] [--no-lds] [--max-names N] [--exit-after-ms MS]
 *   node selftest_client.js --port P --raw-probe [--timeout-ms MS]
 *        raw HTTP/2 (no grpc-js): opens one ADS stream, sends a CDS
 *        request, and reports frames as the C client would see them:
 *        {"ev":"goaway","code":0,"last_stream_id":1}, headers, trailers,
 *        stream/session close.
 */
'use strict';

const http2 = require('http2');
const S = require('./server.js');

function args(argv) {
	const o = {
		port: 0, delta: false, nack: null, nodeId: 'selftest-node', lds: true,
		maxNames: 20, exitAfter: 300000, rawProbe: false, timeout: 10000,
	};
	for (let i = 0; i < argv.length; i++) {
		const a = argv[i], v = () => argv[++i];
		if (a === '--port') o.port = Number(v());
		else if (a === '--delta') o.delta = true;
		else if (a === '--nack-cluster') o.nack = v();
		else if (a === '--node-id') o.nodeId = v();
		else if (a === '--no-lds') o.lds = false;
		else if (a === '--max-names') o.maxNames = Number(v());
		else if (a === '--exit-after-ms') o.exitAfter = Number(v());
		else if (a === '--raw-probe') o.rawProbe = true;
		else if (a === '--timeout-ms') o.timeout = Number(v());
		else {
			process.stderr.write(`selftest_client.js: unknown argument ${a}\n`);
			process.exit(2);
		}
	}
	if (!o.port) {
		process.stderr.write('selftest_client.js: --port is required\n');
		process.exit(2);
	}
	return o;
}

const opt = args(process.argv.slice(2));
const P = S.loadProtos({ coreOnly: true });
const { grpc, root } = P;
const conv = new S.Converter(root, P.protobuf);
const { T } = S;
const short = (t) => String(t).split('.').pop();
const emit = (o) => process.stdout.write(JSON.stringify(o) + '\n');
setTimeout(() => {
	emit({ ev: 'exit', why: 'exit-after-ms' });
	process.exit(0);
}, opt.exitAfter).unref();
process.on('SIGTERM', () => process.exit(0));

const node = {
	id: opt.nodeId, cluster: 'kmesh-selftest', user_agent_name: 'kmesh-selftest-client',
	metadata: conv.struct({ role: 'selftest', delta: opt.delta }, 'metadata'),
};

/* ---------------- raw HTTP/2 probe ---------------- */
if (opt.rawProbe) {
	const DReq = root.lookupType('envoy.service.discovery.v3.DiscoveryRequest');
	const msg = Buffer.from(DReq.encode(DReq.fromObject({ type_url: T.CDS, node })).finish());
	const frame = Buffer.alloc(5 + msg.length);
	frame.writeUInt32BE(msg.length, 1);
	msg.copy(frame, 5);
	const sess = http2.connect(`http://127.0.0.1:${opt.port}`);
	const done = (why) => {
		emit({ ev: 'probe_end', why });
		process.exit(0);
	};
	setTimeout(() => done('timeout'), opt.timeout).unref();
	sess.on('connect', () => emit({ ev: 'connected' }));
	sess.on('goaway', (code, last) => emit({ ev: 'goaway', code, last_stream_id: last }));
	sess.on('error', (e) => emit({ ev: 'session_error', message: e.message, code: e.code }));
	sess.on('close', () => {
		emit({ ev: 'session_closed' });
		setTimeout(() => done('session closed'), 50);
	});
	const req = sess.request({
		':method': 'POST',
		':path': '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources',
		'content-type': 'application/grpc', te: 'trailers',
	});
	req.on('response', (h) => emit({ ev: 'headers', status: h[':status'], grpc_status: h['grpc-status'] }));
	let got = 0;
	req.on('data', (c) => {
		if (got++ === 0)
			emit({ ev: 'data', bytes: c.length });
	});
	req.on('trailers', (t) => emit({ ev: 'trailers', grpc_status: Number(t['grpc-status']), grpc_message: t['grpc-message'] }));
	req.on('error', (e) => emit({ ev: 'stream_error', message: e.message, code: e.code }));
	req.on('close', () => emit({ ev: 'stream_closed', rst_code: req.rstCode }));
	req.write(frame);
	return;
}

/* ---------------- the client ---------------- */
const svc = {};
for (const [k, m] of Object.entries(P.ads)) {
	const orig = m.responseDeserialize;
	svc[k] = {
		...m,
		responseDeserialize: (buf) => {
			const o = orig(buf);
			o.__bytes = buf.length;
			return o;
		},
	};
}
const Client = grpc.makeGenericClientConstructor(svc, 'AggregatedDiscoveryService');
const client = new Client(`127.0.0.1:${opt.port}`, grpc.credentials.createInsecure(), {
	'grpc.max_receive_message_length': -1,
	'grpc.initial_reconnect_backoff_ms': 100,
	'grpc.max_reconnect_backoff_ms': 500,
});

const types = opt.lds ? [T.CDS, T.LDS] : [T.CDS];
const accepted = {};		/* SotW: type -> version accepted */
const have = {};		/* delta: type -> Map name -> version */
const clusters = new Map();	/* name -> Cluster object */
let edsNames = [];		/* current EDS subscription */
let streamN = 0;

function decode(any) {
	const t = conv.typeByUrl(any.type_url, 'resource');
	return t.toObject(t.decode(any.value), { enums: String, longs: String, defaults: false });
}

/* checks one response's resources; returns [objects, error or null] */
function check(t, anys) {
	const objs = [];
	for (const a of anys) {
		if (a.type_url !== t)
			return [objs, `resource of type ${a.type_url} in a ${short(t)} response`];
		let o;
		try {
			o = decode(a);
		} catch (e) {
			return [objs, `${short(t)}: cannot decode a resource: ${e.message}`];
		}
		objs.push(o);
	}
	if (t === T.CDS && opt.nack)
		for (const o of objs)
			if (o.name === opt.nack)
				return [objs, `cluster '${o.name}': rejected by the self-test client`];
	return [objs, null];
}

function wantedEds() {
	const n = [];
	for (const c of clusters.values())
		if (c.type === 'EDS')
			n.push((c.eds_cluster_config && c.eds_cluster_config.service_name) || c.name);
	return n.sort();
}

const nameOf = (t, o) => (t === T.EDS ? o.cluster_name : o.name);
const clip = (a) => (a.length > opt.maxNames ? a.slice(0, opt.maxNames).concat([`... ${a.length - opt.maxNames} more`]) : a);

function start() {
	const n = ++streamN;
	const t0 = Date.now();
	const call = opt.delta ? client.DeltaAggregatedResources() : client.StreamAggregatedResources();
	const nonces = {};
	let ended = false;
	emit({ ev: 'stream', n, kind: opt.delta ? 'delta' : 'sotw' });
	const write = (m) => {
		if (!ended)
			call.write(m);
	};

	const sotwReq = (t, extra) => write({
		node, type_url: t, version_info: accepted[t] || '',
		resource_names: t === T.EDS ? edsNames : [], response_nonce: '', ...extra,
	});

	const updateEds = () => {
		const w = wantedEds();
		if (w.join('\n') === edsNames.join('\n'))
			return;
		if (opt.delta) {
			const add = w.filter((x) => !edsNames.includes(x));
			const del = edsNames.filter((x) => !w.includes(x));
			edsNames = w;
			const h = have[T.EDS] || (have[T.EDS] = new Map());
			for (const d of del)
				h.delete(d);
			write({ node, type_url: T.EDS, resource_names_subscribe: add, resource_names_unsubscribe: del });
		} else {
			edsNames = w;
			/* a new subscription carries the last nonce seen for the
			 * type, empty when none has been seen on this stream */
			sotwReq(T.EDS, { response_nonce: nonces[T.EDS] || '' });
		}
	};

	call.on('data', (r) => {
		const t = r.type_url;
		nonces[t] = r.nonce;
		if (!opt.delta) {
			const [objs, err] = check(t, r.resources);
			emit({
				ev: 'response', stream: n, kind: 'sotw', type: short(t), version: r.version_info,
				nonce: r.nonce, count: r.resources.length, names: clip(objs.map((o) => nameOf(t, o))),
				bytes: r.__bytes, ms: Date.now() - t0, nack: err,
			});
			if (err) {
				sotwReq(t, { response_nonce: r.nonce, error_detail: { code: 3, message: err } });
				return;
			}
			accepted[t] = r.version_info;
			if (t === T.CDS) {
				clusters.clear();
				for (const o of objs)
					clusters.set(o.name, o);
			}
			sotwReq(t, { version_info: r.version_info, response_nonce: r.nonce });
			if (t === T.CDS)
				updateEds();
			return;
		}
		const anys = r.resources.map((x) => x.resource);
		const [objs, err] = check(t, anys);
		emit({
			ev: 'response', stream: n, kind: 'delta', type: short(t), version: r.system_version_info,
			nonce: r.nonce, count: r.resources.length, names: clip(r.resources.map((x) => x.name)),
			removed: clip(r.removed_resources), bytes: r.__bytes, ms: Date.now() - t0, nack: err,
		});
		if (err) {
			write({ node, type_url: t, response_nonce: r.nonce, error_detail: { code: 3, message: err } });
			return;
		}
		const h = have[t] || (have[t] = new Map());
		r.resources.forEach((x, i) => {
			h.set(x.name, x.version);
			if (t === T.CDS)
				clusters.set(x.name, objs[i]);
		});
		for (const d of r.removed_resources) {
			h.delete(d);
			if (t === T.CDS)
				clusters.delete(d);
		}
		write({ node, type_url: t, response_nonce: r.nonce });
		if (t === T.CDS)
			updateEds();
	});
	let restarted = false;
	const restart = () => {
		ended = true;
		if (restarted)
			return;
		restarted = true;
		setTimeout(start, 200);
	};
	call.on('error', (e) => {
		emit({ ev: 'closed', stream: n, code: e.code, details: e.details });
		restart();
	});
	call.on('end', () => restart());

	for (const t of types) {
		if (opt.delta)
			write({
				node, type_url: t, resource_names_subscribe: [],
				initial_resource_versions: Object.fromEntries(have[t] || []),
			});
		else
			sotwReq(t);
	}
	if (edsNames.length) {
		if (opt.delta)
			write({
				node, type_url: T.EDS, resource_names_subscribe: edsNames,
				initial_resource_versions: Object.fromEntries(have[T.EDS] || []),
			});
		else
			sotwReq(T.EDS);
	}
}

start();
