#!/usr/bin/env node
// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Scriptable xDS (ADS) server for kmesh's tests, on the real Envoy protos
 * (the ones @grpc/grpc-js-xds bundles). h2c on 127.0.0.1.
 *
 *   node tests/xds/server.js [--port N] [--control-port N] [--ready-file F]
 *                            [--host 127.0.0.1|::1] [--init FILE] [--verbose]
 *                            [--delta-report-missing]
 *                            [--tls-cert F --tls-key F [--tls-client-ca F]]
 *                            [--token-file F]
 *   node tests/xds/server.js --debug      # include paths, versions; exits
 *
 * Serves envoy.service.discovery.v3.AggregatedDiscoveryService
 * (StreamAggregatedResources = state of the world, DeltaAggregatedResources
 * = incremental), Envoy's types and Istio's ambient API (istio.security.
 * Authorization, istio.workload.Address: kmesh's transcription in
 * proto/istio). Port 0 (the default) picks a free one. Prints "listening
 * PORT" and "control PORT" on stdout; --ready-file gets the xDS port once
 * both are up. --init FILE: {"<type URL or cds|eds|lds|rds>": [resources]}
 * set before listening. --delta-report-missing: delta subscriptions to names
 * that do not exist are answered with those names in removed_resources.
 * --tls-cert/--tls-key: serve TLS (ALPN h2) instead of h2c; the files are
 * read at every listen (start, POST /restart), so a restart after replacing
 * them rotates the server's certificate. --tls-client-ca: require a client
 * certificate signed by it. --token-file F: every call must carry
 * "authorization: Bearer <F's content, trimmed>"; F is re-read per call;
 * other calls end at once with grpc-status 16 UNAUTHENTICATED. Each call's
 * authorization outcome is in /state (streams[].auth).
 *
 * Control: HTTP/1.1 JSON on 127.0.0.1:CONTROL (errors: 4xx {"error": ...};
 * bash helpers in tests/xds/lib.sh; details at route() below):
 *   POST /resources {type_url, resources:[...], version?}
 *   POST /resources/patch {type_url, upsert:[...], remove:[names], version?}
 *   GET  /resources[?type_url=]          names, versions, sizes
 *   GET  /requests[?since=SEQ&type_url=&stream=&kind=&names=0]
 *   GET  /state[?names=0]
 *   POST /drop {code?, message?, stream?}
 *   POST /goaway {grace_ms?}
 *   POST /restart {delay_ms?, wait?}
 *   POST /generate {clusters, endpoints_per_cluster, listeners?, ...}
 *   POST /generate/churn {first, count, round, ...}   (genLayout())
 *   POST /quit
 * Resources are Envoy's proto3 JSON (snake_case or lowerCamelCase names,
 * enums by name, "5s" durations, bare wrapper values, Any as {"@type":
 * URL, ...fields}). Non-standard escapes for negative tests: an Any (or a
 * top-level resource) written {"@raw_base64": B64, "@type"?: URL,
 * "@name"?: NAME} carries those bytes as its value, unchecked.
 *
 * This file is also a module (require('./server.js')): the self-test client
 * uses its proto loading and JSON conversion.
 */
'use strict';

const path = require('path');
const fs = require('fs');
const net = require('net');
const http = require('http');
const crypto = require('crypto');
const { createRequire } = require('module');

/* ------------------------------------------------------------------ */
/* Modules and protos                                                   */
/* ------------------------------------------------------------------ */

const NODE_DIR = process.env.XDS_NODE_DIR ||
	path.resolve(__dirname, '../../build/xds-node');

function nodeRequire() {
	const req = createRequire(path.join(NODE_DIR, 'package.json'));
	let grpc, protoLoader;
	try {
		grpc = req('@grpc/grpc-js');
		protoLoader = req('@grpc/proto-loader');
	} catch (e) {
		throw new Error(`cannot load @grpc modules from ${NODE_DIR}/node_modules ` +
			`(run tests/xds/npm-install.sh): ${e.message}`);
	}
	/* protobufjs: the copy proto-loader itself uses */
	const protobuf = createRequire(req.resolve('@grpc/proto-loader'))('protobufjs');
	const xdsDir = path.dirname(req.resolve('@grpc/grpc-js-xds/package.json'));
	const ver = (r, name) => {
		try {
			return JSON.parse(fs.readFileSync(r.resolve(`${name}/package.json`))).version;
		} catch (e) {
			return null;
		}
	};
	const plReq = createRequire(req.resolve('@grpc/proto-loader'));
	return {
		grpc, protoLoader, protobuf, xdsDir,
		versions: {
			'@grpc/grpc-js': ver(req, '@grpc/grpc-js'),
			'@grpc/proto-loader': ver(req, '@grpc/proto-loader'),
			'@grpc/grpc-js-xds': ver(req, '@grpc/grpc-js-xds'),
			protobufjs: ver(plReq, 'protobufjs'),
			node: process.version,
		},
	};
}

/* Proto files to load: every v3 file of envoy/config, envoy/extensions,
 * envoy/service/discovery (so that any typed_config "@type" of those
 * resolves), plus xds/udpa TypedStruct. Files whose imports are not all in
 * the package (opencensus, opentelemetry) are skipped. */
const CORE_FILES = [
	'envoy/service/discovery/v3/ads.proto',
	'envoy/config/cluster/v3/cluster.proto',
	'envoy/config/endpoint/v3/endpoint.proto',
	'envoy/config/listener/v3/listener.proto',
	'envoy/config/route/v3/route.proto',
	'envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto',
	'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
	'envoy/extensions/filters/http/router/v3/router.proto',
];
const ISTIO_FILES = ['security/authorization.proto', 'workload/workload.proto'];
const EXTRA_FILES = [
	'xds/type/v3/typed_struct.proto',
	'udpa/type/v1/typed_struct.proto',
	'google/rpc/status.proto',
];

function walkProtos(dir, rel, out) {
	let ents;
	try {
		ents = fs.readdirSync(dir, { withFileTypes: true });
	} catch (e) {
		return out;
	}
	for (const e of ents) {
		const p = path.join(dir, e.name), r = rel ? rel + '/' + e.name : e.name;
		if (e.isDirectory())
			walkProtos(p, r, out);
		else if (e.name.endsWith('.proto'))
			out.push(r);
	}
	return out;
}

function loadProtos(opts = {}) {
	const mods = nodeRequire();
	const { protobuf, protoLoader, xdsDir } = mods;
	const deps = path.join(xdsDir, 'deps');
	const includeDirs = ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate']
		.map((d) => path.join(deps, d));
	for (const d of includeDirs)
		if (!fs.existsSync(d))
			throw new Error(`include dir missing: ${d}`);

	const resolve = (target) => {
		if (path.isAbsolute(target))
			return fs.existsSync(target) ? target : null;
		for (const d of includeDirs) {
			const p = path.join(d, target);
			if (fs.existsSync(p))
				return p;
		}
		return null;
	};
	/* protobufjs bundles google/protobuf/*.proto ("common") */
	const isCommon = (f) => f.startsWith('google/protobuf/');
	const importRe = /^\s*import\s+(?:public\s+|weak\s+)?"([^"]+)"\s*;/gm;
	const okCache = new Map();
	const closureOk = (f, seen = new Set()) => {
		if (okCache.has(f))
			return okCache.get(f);
		if (isCommon(f))
			return true;
		if (seen.has(f))
			return true;
		seen.add(f);
		const p = resolve(f);
		let ok = !!p;
		if (ok) {
			const src = fs.readFileSync(p, 'utf8');
			let m;
			importRe.lastIndex = 0;
			const imps = [];
			while ((m = importRe.exec(src)))
				imps.push(m[1]);
			for (const i of imps)
				if (!closureOk(i, seen)) {
					ok = false;
					break;
				}
		}
		okCache.set(f, ok);
		return ok;
	};

	let files = [...CORE_FILES];
	if (!opts.coreOnly) {
		const envoy = path.join(deps, 'envoy-api');
		for (const sub of ['envoy/config', 'envoy/extensions', 'envoy/service/discovery/v3'])
			for (const f of walkProtos(path.join(envoy, sub), sub, []))
				if (/\/v3\//.test(f) && !files.includes(f))
					files.push(f);
	}
	for (const f of EXTRA_FILES)
		if (resolve(f))
			files.push(f);
	const skipped = files.filter((f) => !closureOk(f));
	files = files.filter((f) => closureOk(f));
	for (const f of CORE_FILES)
		if (!files.includes(f))
			throw new Error(`core proto ${f} has imports that are not in ${deps}`);

	const t0 = Date.now();
	const root = new protobuf.Root();
	root.resolvePath = (origin, target) => {
		if (isCommon(target))
			return target;
		/* kmesh's Istio protos import each other from proto/ */
		const ours = path.join(__dirname, '..', '..', 'proto', target);
		return resolve(target) || (fs.existsSync(ours) ? ours : target);
	};
	root.loadSync(files, { keepCase: true });
	/* Istio's ambient API: kmesh's own transcription (proto/istio) */
	root.loadSync(ISTIO_FILES.map((f) => path.join(__dirname, '..', '..', 'proto', 'istio', f)),
		{ keepCase: true });
	root.resolveAll();

	/* The service definition, through proto-loader with the options the
	 * Envoy protos need (grpc-js-xds's validate.proto lacks a field they use;
	 * protobufjs tolerates that). */
	const loaderOpts = {
		keepCase: true, longs: String, enums: String, defaults: true,
		oneofs: true, includeDirs,
	};
	const pkgDef = protoLoader.loadSync('envoy/service/discovery/v3/ads.proto', loaderOpts);
	const loadMs = Date.now() - t0;
	return {
		...mods, root, pkgDef, includeDirs, files, skipped, loadMs, loaderOpts,
		ads: pkgDef['envoy.service.discovery.v3.AggregatedDiscoveryService'],
	};
}

/* ------------------------------------------------------------------ */
/* Proto3 JSON -> protobufjs                                            */
/* ------------------------------------------------------------------ */

class JsonError extends Error {
	constructor(where, msg) {
		super(`${where || '$'}: ${msg}`);
		this.where = where;
	}
}

const WRAPPERS = {
	'.google.protobuf.DoubleValue': 'double',
	'.google.protobuf.FloatValue': 'float',
	'.google.protobuf.Int64Value': 'int64',
	'.google.protobuf.UInt64Value': 'uint64',
	'.google.protobuf.Int32Value': 'int32',
	'.google.protobuf.UInt32Value': 'uint32',
	'.google.protobuf.BoolValue': 'bool',
	'.google.protobuf.StringValue': 'string',
	'.google.protobuf.BytesValue': 'bytes',
};
/* types whose JSON form is not an object of fields (Any carries them in
 * "value") */
const SPECIAL_JSON = new Set([
	'.google.protobuf.Duration', '.google.protobuf.Timestamp',
	'.google.protobuf.FieldMask', '.google.protobuf.Struct',
	'.google.protobuf.Value', '.google.protobuf.ListValue',
	'.google.protobuf.Any', ...Object.keys(WRAPPERS),
]);

const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const camel = (s) => s.replace(/_([a-z0-9])/g, (m, c) => c.toUpperCase());
const snake = (s) => s.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase());

class Converter {
	constructor(root, protobuf) {
		this.root = root;
		this.protobuf = protobuf;
		this.byUrl = new Map();
		this.fieldMaps = new Map();
	}

	typeByUrl(url, where) {
		let t = this.byUrl.get(url);
		if (t)
			return t;
		if (typeof url !== 'string' || !url.includes('/'))
			throw new JsonError(where, `bad type URL ${JSON.stringify(url)} ` +
				'(want "type.googleapis.com/<message>")');
		const name = url.slice(url.lastIndexOf('/') + 1);
		try {
			t = this.root.lookupType(name);
		} catch (e) {
			throw new JsonError(where, `unknown message type in ${JSON.stringify(url)}`);
		}
		this.byUrl.set(url, t);
		return t;
	}

	fieldMap(type) {
		let m = this.fieldMaps.get(type);
		if (!m) {
			m = new Map();
			for (const f of type.fieldsArray) {
				m.set(f.name, f);
				m.set(camel(f.name), f);
				if (f.options && f.options.json_name)
					m.set(f.options.json_name, f);
			}
			this.fieldMaps.set(type, m);
		}
		return m;
	}

	/* JSON for one message -> an object for type.fromObject */
	message(type, v, where) {
		const fn = type.fullName;
		if (WRAPPERS[fn])
			return { value: this.scalar(WRAPPERS[fn], v, where) };
		switch (fn) {
		case '.google.protobuf.Any':
			return this.any(v, where);
		case '.google.protobuf.Duration':
			return this.duration(v, where);
		case '.google.protobuf.Timestamp':
			return this.timestamp(v, where);
		case '.google.protobuf.FieldMask':
			if (typeof v !== 'string')
				throw new JsonError(where, 'FieldMask must be a string "a.b,c"');
			return { paths: v === '' ? [] : v.split(',').map(snake) };
		case '.google.protobuf.Struct':
			return this.struct(v, where);
		case '.google.protobuf.Value':
			return this.value(v, where);
		case '.google.protobuf.ListValue':
			if (!Array.isArray(v))
				throw new JsonError(where, 'ListValue must be an array');
			return { values: v.map((x, i) => this.value(x, `${where}[${i}]`)) };
		default:
			break;
		}
		if (!isObj(v))
			throw new JsonError(where, `expected an object for ${fn.slice(1)}, ` +
				`got ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v}`);
		const fmap = this.fieldMap(type);
		const out = {};
		const oneofs = {};
		for (const k of Object.keys(v)) {
			const f = fmap.get(k);
			const w = where ? `${where}.${k}` : k;
			if (!f)
				throw new JsonError(w, `unknown field "${k}" in ${fn.slice(1)}`);
			const val = v[k];
			if (val === null && !(f.resolve().resolvedType &&
				f.resolvedType.fullName === '.google.protobuf.Value'))
				continue;
			if (f.partOf) {
				const o = f.partOf.name;
				if (oneofs[o])
					throw new JsonError(w, `oneof "${o}" already set by "${oneofs[o]}"`);
				oneofs[o] = k;
			}
			if (out[f.name] !== undefined)
				throw new JsonError(w, `field "${f.name}" given twice`);
			out[f.name] = this.field(f, val, w);
		}
		return out;
	}

	field(f, val, where) {
		f.resolve();
		if (f.map) {
			if (!isObj(val))
				throw new JsonError(where, 'map field must be an object');
			const o = {};
			for (const k of Object.keys(val)) {
				if (/int|fixed/.test(f.keyType) && !/^-?\d+$/.test(k))
					throw new JsonError(`${where}.${k}`, `map key must be an integer`);
				if (f.keyType === 'bool' && k !== 'true' && k !== 'false')
					throw new JsonError(`${where}.${k}`, `map key must be true or false`);
				o[k] = this.single(f, val[k], `${where}.${k}`);
			}
			return o;
		}
		if (f.repeated) {
			if (!Array.isArray(val))
				throw new JsonError(where, 'repeated field must be an array');
			return val.map((x, i) => this.single(f, x, `${where}[${i}]`));
		}
		return this.single(f, val, where);
	}

	single(f, val, where) {
		const rt = f.resolvedType;
		if (rt instanceof this.protobuf.Type) {
			if (val === null && rt.fullName !== '.google.protobuf.Value')
				throw new JsonError(where, 'null element');
			return this.message(rt, val, where);
		}
		if (rt instanceof this.protobuf.Enum)
			return this.enumValue(rt, val, where);
		if (val === null)
			throw new JsonError(where, 'null element');
		return this.scalar(f.type, val, where);
	}

	enumValue(e, val, where) {
		if (typeof val === 'string') {
			if (!Object.prototype.hasOwnProperty.call(e.values, val))
				throw new JsonError(where, `"${val}" is not a value of ${e.fullName.slice(1)} ` +
					`(${Object.keys(e.values).join(', ')})`);
			return e.values[val];
		}
		if (Number.isInteger(val) && val >= -2147483648 && val <= 2147483647)
			return val;
		throw new JsonError(where, `enum ${e.fullName.slice(1)} wants a name or an integer`);
	}

	scalar(t, v, where) {
		const bad = (what) => {
			throw new JsonError(where, `${t}: ${what} (got ${JSON.stringify(v)})`);
		};
		switch (t) {
		case 'string':
			if (typeof v !== 'string')
				bad('want a string');
			return v;
		case 'bool':
			if (typeof v !== 'boolean')
				bad('want true or false');
			return v;
		case 'bytes':
			if (typeof v !== 'string' || !/^[A-Za-z0-9+/_-]*=*$/.test(v))
				bad('want base64');
			return Buffer.from(v.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
		case 'double':
		case 'float':
			if (typeof v === 'number')
				return v;
			if (v === 'NaN')
				return NaN;
			if (v === 'Infinity')
				return Infinity;
			if (v === '-Infinity')
				return -Infinity;
			if (typeof v === 'string' && v.trim() !== '' && !isNaN(Number(v)))
				return Number(v);
			return bad('want a number');
		case 'int32': case 'sint32': case 'sfixed32':
		case 'uint32': case 'fixed32': {
			let n = v;
			if (typeof v === 'string' && /^-?\d+$/.test(v))
				n = Number(v);
			if (typeof n !== 'number' || !Number.isInteger(n))
				bad('want an integer');
			const u = t === 'uint32' || t === 'fixed32';
			if (u ? n < 0 || n > 4294967295 : n < -2147483648 || n > 2147483647)
				bad('out of range');
			return n;
		}
		case 'int64': case 'sint64': case 'sfixed64':
		case 'uint64': case 'fixed64': {
			let s;
			if (typeof v === 'number' && Number.isSafeInteger(v))
				s = String(v);
			else if (typeof v === 'string' && /^-?\d+$/.test(v))
				s = v;
			else
				bad('want an integer (number or decimal string)');
			const b = BigInt(s);
			const u = t === 'uint64' || t === 'fixed64';
			if (u ? b < 0n || b > 18446744073709551615n :
				b < -9223372036854775808n || b > 9223372036854775807n)
				bad('out of range');
			return s;
		}
		default:
			return bad('unsupported scalar type');
		}
	}

	duration(v, where) {
		const m = typeof v === 'string' && /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(v);
		if (!m)
			throw new JsonError(where, `Duration must be a string like "1.5s" (got ${JSON.stringify(v)})`);
		let nanos = m[3] ? Number(m[3].padEnd(9, '0')) : 0;
		let secs = m[2];
		if (BigInt(secs) > 315576000000n)
			throw new JsonError(where, 'Duration out of range');
		if (m[1]) {
			secs = secs === '0' ? '0' : '-' + secs;
			nanos = -nanos;
		}
		return nanos ? { seconds: secs, nanos } : { seconds: secs };
	}

	timestamp(v, where) {
		const m = typeof v === 'string' &&
			/^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/i.exec(v);
		const ms = m ? Date.parse(m[1] + (m[3].toUpperCase() === 'Z' ? 'Z' : m[3])) : NaN;
		if (!m || isNaN(ms))
			throw new JsonError(where, `Timestamp must be RFC 3339 (got ${JSON.stringify(v)})`);
		const nanos = m[2] ? Number(m[2].padEnd(9, '0')) : 0;
		const seconds = String(Math.floor(ms / 1000));
		return nanos ? { seconds, nanos } : { seconds };
	}

	struct(v, where) {
		if (!isObj(v))
			throw new JsonError(where, 'Struct must be an object');
		const fields = {};
		for (const k of Object.keys(v))
			fields[k] = this.value(v[k], `${where}.${k}`);
		return { fields };
	}

	/* protobufjs's bundled google.protobuf.Value names its fields in
	 * lowerCamelCase even under keepCase: ask the type */
	vf(n) {
		if (!this.valueFields) {
			const V = this.root.lookupType('google.protobuf.Value');
			this.valueFields = {};
			for (const k of ['null_value', 'number_value', 'string_value', 'bool_value',
				'struct_value', 'list_value'])
				this.valueFields[k] = V.fields[k] ? k : camel(k);
		}
		return this.valueFields[n];
	}

	value(v, where) {
		const o = {};
		if (v === null)
			o[this.vf('null_value')] = 0;
		else if (typeof v === 'number')
			o[this.vf('number_value')] = v;
		else if (typeof v === 'string')
			o[this.vf('string_value')] = v;
		else if (typeof v === 'boolean')
			o[this.vf('bool_value')] = v;
		else if (Array.isArray(v))
			o[this.vf('list_value')] = { values: v.map((x, i) => this.value(x, `${where}[${i}]`)) };
		else if (isObj(v))
			o[this.vf('struct_value')] = this.struct(v, where);
		else
			throw new JsonError(where, 'not a JSON value');
		return o;
	}

	/* Any: {"@type": URL, ...fields} or {"@type": URL, "value": special},
	 * or the test escape {"@type": URL, "@raw_base64": B64} */
	any(v, where) {
		if (!isObj(v))
			throw new JsonError(where, 'Any must be an object with "@type"');
		const url = v['@type'];
		if (typeof url !== 'string')
			throw new JsonError(where, 'Any needs "@type"');
		if (v['@raw_base64'] !== undefined) {
			if (typeof v['@raw_base64'] !== 'string')
				throw new JsonError(where, '"@raw_base64" must be a string');
			return { type_url: url, value: Buffer.from(v['@raw_base64'], 'base64') };
		}
		const t = this.typeByUrl(url, where);
		let payload;
		if (SPECIAL_JSON.has(t.fullName)) {
			for (const k of Object.keys(v))
				if (k !== '@type' && k !== 'value')
					throw new JsonError(`${where}.${k}`, `unknown key in Any of ${t.fullName.slice(1)}`);
			payload = this.message(t, v.value, `${where}.value`);
		} else {
			const rest = {};
			for (const k of Object.keys(v))
				if (k !== '@type')
					rest[k] = v[k];
			payload = this.message(t, rest, where);
		}
		return { type_url: url, value: Buffer.from(t.encode(t.fromObject(payload)).finish()) };
	}

	/* One message from JSON to bytes */
	encode(type, json, where) {
		return Buffer.from(type.encode(type.fromObject(this.message(type, json, where))).finish());
	}
}

/* ------------------------------------------------------------------ */
/* Hand-written protobuf framing (for speed on big sets)                */
/* ------------------------------------------------------------------ */

function varint(n) {
	const b = [];
	while (n > 127) {
		b.push((n & 127) | 128);
		n = Math.floor(n / 128);
	}
	b.push(n);
	return Buffer.from(b);
}
/* field with wire type 2 (string, bytes, message) */
function ld(field, buf) {
	if (typeof buf === 'string')
		buf = Buffer.from(buf, 'utf8');
	return Buffer.concat([varint((field << 3) | 2), varint(buf.length), buf]);
}
const anyBytes = (typeUrl, value) => Buffer.concat([ld(1, typeUrl), ld(2, value)]);

/* ------------------------------------------------------------------ */
/* Type URLs                                                            */
/* ------------------------------------------------------------------ */

const T = {
	CDS: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
	EDS: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
	LDS: 'type.googleapis.com/envoy.config.listener.v3.Listener',
	RDS: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
	AUTHZ: 'type.googleapis.com/istio.security.Authorization',
	ADDR: 'type.googleapis.com/istio.workload.Address',
};
const ALIASES = {
	cds: T.CDS, cluster: T.CDS, eds: T.EDS, cla: T.EDS, endpoint: T.EDS,
	lds: T.LDS, listener: T.LDS, rds: T.RDS, route: T.RDS,
	authorization: T.AUTHZ, address: T.ADDR,
};
/* types where an empty resource_names list means "all" (wildcard) */
const WILDCARD_TYPES = new Set([T.CDS, T.LDS, T.AUTHZ, T.ADDR]);

function normType(t) {
	if (typeof t !== 'string' || !t)
		return t;
	return ALIASES[t.toLowerCase()] || t;
}

module.exports = { loadProtos, Converter, JsonError, T, ALIASES, normType, varint, ld, anyBytes };

/* ------------------------------------------------------------------ */
/* The server                                                           */
/* ------------------------------------------------------------------ */

function parseArgs(argv) {
	const o = {
		port: 0, controlPort: 0, readyFile: null, verbose: false, debug: false,
		init: null, deltaReportMissing: false, host: '127.0.0.1',
		tlsCert: null, tlsKey: null, tlsClientCa: null, tokenFile: null,
	};
	for (let i = 0; i < argv.length; i++) {
		const a = argv[i];
		const next = () => {
			if (i + 1 >= argv.length)
				throw new Error(`${a} needs a value`);
			return argv[++i];
		};
		if (a === '--port')
			o.port = Number(next());
		else if (a === '--control-port')
			o.controlPort = Number(next());
		else if (a === '--ready-file')
			o.readyFile = next();
		else if (a === '--host')
			o.host = next();
		else if (a === '--init')
			o.init = next();
		else if (a === '--verbose' || a === '-v')
			o.verbose = true;
		else if (a === '--debug')
			o.debug = true;
		else if (a === '--delta-report-missing')
			o.deltaReportMissing = true;
		else if (a === '--tls-cert')
			o.tlsCert = next();
		else if (a === '--tls-key')
			o.tlsKey = next();
		else if (a === '--tls-client-ca')
			o.tlsClientCa = next();
		else if (a === '--token-file')
			o.tokenFile = next();
		else if (a === '--help' || a === '-h') {
			process.stdout.write(fs.readFileSync(__filename, 'utf8')
				.split('\n').slice(2, 50).join('\n') + '\n');
			process.exit(0);
		} else
			throw new Error(`unknown argument ${a}`);
	}
	if (!o.tlsCert !== !o.tlsKey || (o.tlsClientCa && !o.tlsCert))
		throw new Error('--tls-cert and --tls-key go together (and --tls-client-ca with them)');
	if (!/^(127\.\d+\.\d+\.\d+|::1|localhost)$/.test(o.host))
		throw new Error('--host: a loopback address only (127.x.y.z, ::1)');
	for (const k of ['port', 'controlPort'])
		if (!Number.isInteger(o[k]) || o[k] < 0 || o[k] > 65535)
			throw new Error(`bad ${k}`);
	return o;
}

function main() {
	let opt;
	try {
		opt = parseArgs(process.argv.slice(2));
	} catch (e) {
		process.stderr.write(`server.js: ${e.message}\n`);
		process.exit(2);
	}
	const log = opt.verbose ?
		(...a) => process.stderr.write(`[xds ${new Date().toISOString().slice(11, 23)}] ${a.join(' ')}\n`) :
		() => {};

	let P;
	try {
		P = loadProtos();
	} catch (e) {
		process.stderr.write(`server.js: ${e.message}\n`);
		process.exit(1);
	}
	if (opt.debug) {
		const out = [];
		out.push(`node_dir ${NODE_DIR}`);
		for (const [k, v] of Object.entries(P.versions))
			out.push(`version ${k} ${v}`);
		for (const d of P.includeDirs)
			out.push(`include ${d}`);
		out.push(`protos loaded ${P.files.length} in ${P.loadMs} ms`);
		for (const f of P.skipped)
			out.push(`protos skipped ${f} (imports not in the package)`);
		out.push(`loader_options ${JSON.stringify({ ...P.loaderOpts, includeDirs: undefined, longs: 'String', enums: 'String' })}`);
		process.stdout.write(out.join('\n') + '\n');
		process.exit(0);
	}
	log(`protos: ${P.files.length} files in ${P.loadMs} ms; include ${P.includeDirs.join(':')}`);

	const { grpc, root } = P;
	const conv = new Converter(root, P.protobuf);

	/* ---------------- resource store ---------------- */
	/* type_url -> {set, version, counter, items: Map name -> item, cache} */
	const store = new Map();
	const getStore = (t) => {
		let s = store.get(t);
		if (!s) {
			s = { set: false, version: '', counter: 0, items: new Map(), cache: null };
			store.set(t, s);
		}
		return s;
	};
	/* istiod's names: "ns/name" for a policy, the uid for a workload,
	 * "ns/hostname" for a service */
	const nameOf = (t, obj) => {
		if (t === T.EDS)
			return obj.cluster_name;
		if (t === T.AUTHZ)
			return obj.name && `${obj.namespace}/${obj.name}`;
		if (t === T.ADDR)
			return obj.workload ? obj.workload.uid :
				obj.service && `${obj.service.namespace}/${obj.service.hostname}`;
		return obj.name;
	};

	/* one resource JSON -> item {name, any, hash, entry} */
	function makeItem(t, r, where) {
		const ty = conv.typeByUrl(t, 'type_url');
		if (!isObj(r))
			throw new JsonError(where, 'a resource must be a JSON object');
		let name, value, url = t;
		if (r['@raw_base64'] !== undefined) {
			if (typeof r['@raw_base64'] !== 'string')
				throw new JsonError(where, '"@raw_base64" must be a string');
			value = Buffer.from(r['@raw_base64'], 'base64');
			if (r['@type'] !== undefined)
				url = r['@type'];
			name = r['@name'];
			if (typeof name !== 'string' || !name)
				throw new JsonError(where, 'a raw resource needs "@name"');
			for (const k of Object.keys(r))
				if (!['@raw_base64', '@type', '@name'].includes(k))
					throw new JsonError(`${where}.${k}`, 'unknown key in a raw resource');
		} else {
			const json = { ...r };
			if (json['@type'] !== undefined) {
				/* an Any-style resource: its @type may differ (negative tests) */
				url = json['@type'];
				delete json['@type'];
			}
			const rty = url === t ? ty : conv.typeByUrl(url, `${where}.@type`);
			const obj = conv.message(rty, json, where);
			name = rty === ty ? nameOf(t, obj) : (json.name || json.cluster_name);
			if (typeof name !== 'string' || !name)
				throw new JsonError(where, t === T.EDS ? 'a ClusterLoadAssignment needs "cluster_name"' :
					'a resource needs "name"');
			value = Buffer.from(rty.encode(rty.fromObject(obj)).finish());
		}
		const any = anyBytes(url, value);
		const hash = crypto.createHash('sha256').update(any).digest('hex').slice(0, 16);
		return { name, any, hash, entry: ld(2, any), delta: null, size: value.length };
	}

	function buildItems(t, list, where) {
		if (!Array.isArray(list))
			throw new JsonError(where, 'must be an array');
		const items = new Map();
		list.forEach((r, i) => {
			const it = makeItem(t, r, `${where}[${i}]`);
			if (items.has(it.name))
				throw new JsonError(`${where}[${i}]`, `duplicate resource name "${it.name}"`);
			items.set(it.name, it);
		});
		return items;
	}

	function commit(t, items, version) {
		const s = getStore(t);
		s.counter++;
		s.version = version !== undefined && version !== null ? String(version) : String(s.counter);
		s.items = items;
		s.set = true;
		s.cache = null;
		const pushed = pushType(t);
		log(`set ${t} version ${s.version}: ${items.size} resources; pushed to ${pushed.length} streams`);
		return { type_url: t, version: s.version, count: items.size, pushed_to: pushed };
	}

	/* ---------------- streams ---------------- */
	let streamSeq = 0, nonceSeq = 0, reqSeq = 0;
	const streams = new Map();
	const requests = [];
	const sessions = { conns: new Map(), connSeq: 0 };

	function newStream(kind, call) {
		const peer = call.getPeer ? call.getPeer() : '';
		const port = Number(String(peer).split(':').pop());
		let conn = null;
		for (const [id, c] of sessions.conns)
			if (c.remotePort === port)
				conn = id;
		const st = {
			id: ++streamSeq, kind, call, peer, conn, open: true,
			opened_at: Date.now(), closed_at: null, close_reason: null, node: null,
			types: new Map(),
		};
		streams.set(st.id, st);
		log(`stream ${st.id} (${kind}) opened from ${peer}`);
		return st;
	}

	function closeStream(st, why) {
		if (!st.open)
			return;
		st.open = false;
		st.closed_at = Date.now();
		st.close_reason = st.goaway ? `after GOAWAY: ${why}` : why;
		log(`stream ${st.id} closed: ${why}`);
	}

	function nodeJson(n) {
		if (!n)
			return null;
		return {
			id: n.id, cluster: n.cluster, metadata: structToJson(n.metadata),
			user_agent_name: n.user_agent_name || '',
			user_agent_version: n.user_agent_version || '',
			locality: n.locality || null,
		};
	}

	function send(st, t, ts, buf, info) {
		const nonce = `n${++nonceSeq}`;
		/* DiscoveryResponse and DeltaDiscoveryResponse number these alike:
		 * (system_)version_info 1, type_url 4, nonce 5; resources are 2 */
		const header = Buffer.concat([ld(1, info.version), ld(4, t), ld(5, nonce)]);
		const msg = Buffer.concat([header, buf]);
		const rec = {
			nonce, version: info.version, resources: info.count,
			removed: info.removed || undefined, bytes: msg.length, at: Date.now(),
		};
		ts.sent.push(rec);
		ts.byNonce.set(nonce, rec);
		ts.lastNonce = nonce;
		ts.lastVersion = info.version;
		try {
			st.call.write(msg);
		} catch (e) {
			log(`stream ${st.id}: write failed: ${e.message}`);
		}
		log(`stream ${st.id} -> ${t.split('.').pop()} version ${info.version} nonce ${nonce}: ` +
			`${info.count} resources${info.removed ? `, ${info.removed.length} removed` : ''}, ${msg.length} bytes`);
		return rec;
	}

	function typeState(st, t) {
		let ts = st.types.get(t);
		if (!ts) {
			ts = {
				subscribed: false, wildcard: false, names: new Set(),
				sent: [], byNonce: new Map(), lastNonce: null, lastVersion: null,
				acked: null, nacked: null, requests: 0,
				have: new Map(), reportedMissing: new Set(),
			};
			st.types.set(t, ts);
		}
		return ts;
	}

	/* SotW: a response with the current resources of @t for this stream */
	function sotwRespond(st, t) {
		const s = store.get(t);
		const ts = st.types.get(t);
		if (!s || !s.set || !ts || !ts.subscribed)
			return null;
		let body, count;
		if (ts.wildcard) {
			if (!s.cache || s.cache.version !== s.version) {
				const all = [...s.items.values()];
				s.cache = { version: s.version, body: Buffer.concat(all.map((i) => i.entry)), count: all.length };
			}
			body = s.cache.body;
			count = s.cache.count;
		} else {
			if (ts.names.size === 0)
				return null;
			const sel = [];
			for (const n of ts.names) {
				const it = s.items.get(n);
				if (it)
					sel.push(it.entry);
			}
			body = Buffer.concat(sel);
			count = sel.length;
		}
		return send(st, t, ts, body, { version: s.version, count });
	}

	function deltaEntry(it) {
		if (!it.delta) {
			const res = Buffer.concat([ld(1, it.hash), ld(2, it.any), ld(3, it.name)]);
			it.delta = ld(2, res);
		}
		return it.delta;
	}

	/* Delta: send what changed for this stream, if anything */
	function deltaPush(st, t) {
		const s = store.get(t);
		const ts = st.types.get(t);
		if (!s || !s.set || !ts || !ts.subscribed)
			return null;
		const upd = [];
		const removed = [];
		const consider = (n) => {
			const it = s.items.get(n);
			if (it && ts.have.get(n) !== it.hash)
				upd.push(it);
		};
		if (ts.wildcard)
			for (const n of s.items.keys())
				consider(n);
		for (const n of ts.names)
			if (!ts.wildcard || !s.items.has(n))
				consider(n);
		for (const n of ts.have.keys())
			if (!s.items.has(n) && (ts.wildcard || ts.names.has(n)))
				removed.push(n);
		if (opt.deltaReportMissing)
			for (const n of ts.names)
				if (!s.items.has(n) && !ts.have.has(n) && !ts.reportedMissing.has(n)) {
					removed.push(n);
					ts.reportedMissing.add(n);
				}
		if (upd.length === 0 && removed.length === 0)
			return null;
		for (const it of upd) {
			ts.have.set(it.name, it.hash);
			ts.reportedMissing.delete(it.name);
		}
		for (const n of removed)
			ts.have.delete(n);
		const body = Buffer.concat([...upd.map(deltaEntry), ...removed.map((n) => ld(6, n))]);
		return send(st, t, ts, body, {
			version: s.version, count: upd.length, removed: removed.length ? removed : undefined,
		});
	}

	function pushType(t) {
		const out = [];
		for (const st of streams.values()) {
			if (!st.open || !st.types.has(t))
				continue;
			const r = st.kind === 'sotw' ? sotwRespond(st, t) : deltaPush(st, t);
			if (r)
				out.push(st.id);
		}
		return out;
	}

	function recordRequest(st, kind, req, extra) {
		const e = {
			seq: ++reqSeq, at: Date.now(), stream: st.id, kind, type_url: req.type_url,
			...extra,
			error_detail: req.error_detail ?
				{ code: req.error_detail.code, message: req.error_detail.message } : null,
			node: nodeJson(req.node),
		};
		requests.push(e);
		return e;
	}

	function onSotw(st, req) {
		const t = req.type_url;
		const nonce = req.response_nonce || '';
		if (req.node && !st.node)
			st.node = nodeJson(req.node);
		const ts = t ? typeState(st, t) : null;
		const matched = ts && nonce ? ts.byNonce.get(nonce) : null;
		const latest = !!(ts && nonce && nonce === ts.lastNonce);
		const e = recordRequest(st, 'sotw', req, {
			version_info: req.version_info, response_nonce: nonce,
			resource_names: req.resource_names,
			first_for_type: !ts || ts.requests === 0,
			ack: !!matched && !req.error_detail,
			nack: !!matched && !!req.error_detail,
			response_version: matched ? matched.version : null,
			stale: !!nonce && !latest,
			unknown_nonce: !!nonce && !matched,
		});
		log(`stream ${st.id} <- sotw ${String(t).split('.').pop()} version "${req.version_info}" ` +
			`nonce "${nonce}" names ${req.resource_names.length}` +
			`${e.ack ? ' ACK' : ''}${e.nack ? ` NACK: ${req.error_detail.message}` : ''}${e.stale ? ' (stale)' : ''}`);
		if (!t) {
			e.ignored = 'no type_url';
			return;
		}
		ts.requests++;
		/* A stale nonce: the client has not seen our latest response yet;
		 * it will ACK/NACK that one with its current subscription. */
		if (nonce && !latest) {
			e.ignored = 'stale nonce';
			return;
		}
		if (matched) {
			if (req.error_detail)
				ts.nacked = {
					version: matched.version, nonce, code: req.error_detail.code,
					message: req.error_detail.message, at: Date.now(),
				};
			else {
				ts.acked = { version: matched.version, nonce, at: Date.now() };
				ts.nacked = null;
			}
		}
		const names = req.resource_names || [];
		const wildcard = names.includes('*') || (names.length === 0 && WILDCARD_TYPES.has(t));
		const set = new Set(names.filter((n) => n !== '*'));
		const changed = !ts.subscribed || ts.wildcard !== wildcard || set.size !== ts.names.size ||
			[...set].some((n) => !ts.names.has(n));
		ts.subscribed = true;
		ts.wildcard = wildcard;
		ts.names = set;
		if (!nonce || changed) {
			const r = sotwRespond(st, t);
			if (!r)
				e.waiting = true;
		}
	}

	function onDelta(st, req) {
		const t = req.type_url;
		const nonce = req.response_nonce || '';
		if (req.node && !st.node)
			st.node = nodeJson(req.node);
		const ts = t ? typeState(st, t) : null;
		const matched = ts && nonce ? ts.byNonce.get(nonce) : null;
		const e = recordRequest(st, 'delta', req, {
			response_nonce: nonce,
			subscribe: req.resource_names_subscribe,
			unsubscribe: req.resource_names_unsubscribe,
			initial_resource_versions: req.initial_resource_versions || {},
			first_for_type: !ts || ts.requests === 0,
			ack: !!matched && !req.error_detail,
			nack: !!matched && !!req.error_detail,
			response_version: matched ? matched.version : null,
			stale: !!nonce && nonce !== (ts && ts.lastNonce),
			unknown_nonce: !!nonce && !matched,
		});
		log(`stream ${st.id} <- delta ${String(t).split('.').pop()} +${req.resource_names_subscribe.length} ` +
			`-${req.resource_names_unsubscribe.length} nonce "${nonce}"` +
			`${e.ack ? ' ACK' : ''}${e.nack ? ` NACK: ${req.error_detail.message}` : ''}`);
		if (!t) {
			e.ignored = 'no type_url';
			return;
		}
		ts.requests++;
		if (matched) {
			if (req.error_detail)
				ts.nacked = {
					version: matched.version, nonce, code: req.error_detail.code,
					message: req.error_detail.message, at: Date.now(),
				};
			else {
				ts.acked = { version: matched.version, nonce, at: Date.now() };
				ts.nacked = null;
			}
		}
		const sub = req.resource_names_subscribe || [];
		const unsub = req.resource_names_unsubscribe || [];
		if (!ts.subscribed) {
			ts.subscribed = true;
			for (const [n, v] of Object.entries(req.initial_resource_versions || {}))
				ts.have.set(n, v);
			if (sub.length === 0 && WILDCARD_TYPES.has(t))
				ts.wildcard = true;
		}
		for (const n of sub) {
			if (n === '*')
				ts.wildcard = true;
			else
				ts.names.add(n);
		}
		for (const n of unsub) {
			if (n === '*')
				ts.wildcard = false;
			else {
				ts.names.delete(n);
				ts.have.delete(n);
				ts.reportedMissing.delete(n);
			}
		}
		if (!ts.wildcard)
			for (const n of [...ts.have.keys()])
				if (!ts.names.has(n))
					ts.have.delete(n);
		if (sub.length || unsub.length || !nonce) {
			if (!deltaPush(st, t))
				e.waiting = true;
		}
	}

	/* The call's bearer token against --token-file (read now: tests
	 * rotate it). Records the outcome on the stream; the reason a call is
	 * refused, or null. */
	function checkAuth(st, call) {
		const got = call.metadata.get('authorization').map(String);
		const ctx = call.getAuthContext ? call.getAuthContext() : {};
		const cert = ctx && ctx.sslPeerCertificate;
		st.auth = {
			authorization: got[0] === undefined ? null : got[0],
			/* a call only gets here over what the server serves */
			transport: opt.tlsCert ? 'tls' : 'h2c',
			client_cert: cert && cert.subject ? cert.subject.CN || '' : null,
			ok: true, reason: null,
		};
		if (!opt.tokenFile)
			return null;
		let want;
		try {
			want = fs.readFileSync(opt.tokenFile, 'utf8').trim();
		} catch (e) {
			want = null;
		}
		let why = null;
		if (got.length === 0)
			why = 'missing authorization: no bearer token';
		else if (!got[0].startsWith('Bearer '))
			why = 'authorization is not a Bearer token';
		else if (want === null || got[0].slice(7) !== want)
			why = 'authentication failure: the bearer token is not valid';
		st.auth.ok = !why;
		st.auth.reason = why;
		return why;
	}

	function handler(kind) {
		return (call) => {
			const st = newStream(kind, call);
			const refused = checkAuth(st, call);
			if (refused) {
				log(`stream ${st.id}: refused: ${refused}`);
				closeStream(st, `refused: ${refused}`);
				call.emit('error', Object.assign(new Error(refused), {
					code: grpc.status.UNAUTHENTICATED, details: refused,
				}));
				return;
			}
			call.on('data', (req) => {
				try {
					(kind === 'sotw' ? onSotw : onDelta)(st, req);
				} catch (err) {
					log(`stream ${st.id}: error handling a request: ${err.stack}`);
				}
			});
			call.on('end', () => {
				closeStream(st, 'client half-closed');
				try {
					call.end();
				} catch (err) { /* closed */ }
			});
			call.on('cancelled', () => closeStream(st, 'cancelled'));
			call.on('error', (err) => closeStream(st, `error: ${err.message}`));
			call.on('close', () => closeStream(st, 'closed'));
		};
	}

	/* ---------------- gRPC server, own listener ---------------- */
	const adsDef = {};
	for (const [k, m] of Object.entries(P.ads)) {
		const orig = m.responseSerialize;
		adsDef[k] = { ...m, responseSerialize: (x) => (Buffer.isBuffer(x) ? x : orig(x)) };
	}
	const grpcServer = new grpc.Server({
		'grpc.max_receive_message_length': 256 * 1024 * 1024,
		'grpc.max_send_message_length': -1,
	});
	grpcServer.addService(adsDef, {
		StreamAggregatedResources: handler('sotw'),
		DeltaAggregatedResources: handler('delta'),
	});
	/* We own the TCP listener and hand connections to grpc-js (its
	 * connection injector): that lets /goaway drain the HTTP/2 sessions
	 * (GOAWAY, then close after a grace time) and /restart close the port
	 * and every connection without tearing down the gRPC server object. */
	let injector = null, netServer = null, listening = false, xdsPort = opt.port, restarting = false;

	/* read at every listen: a restart after replacing the files rotates
	 * the server's certificate */
	function credentials() {
		if (!opt.tlsCert)
			return grpc.ServerCredentials.createInsecure();
		const ca = opt.tlsClientCa ? fs.readFileSync(opt.tlsClientCa) : null;
		return grpc.ServerCredentials.createSsl(ca, [{
			cert_chain: fs.readFileSync(opt.tlsCert),
			private_key: fs.readFileSync(opt.tlsKey),
		}], !!ca);
	}

	function listen(port) {
		return new Promise((resolve, reject) => {
			let creds;
			try {
				creds = credentials();
			} catch (e) {
				reject(e);
				return;
			}
			injector = grpcServer.createConnectionInjector(creds);
			const inj = injector;
			const srv = net.createServer((sock) => {
				const id = ++sessions.connSeq;
				sessions.conns.set(id, { sock, remotePort: sock.remotePort, at: Date.now() });
				sock.on('close', () => sessions.conns.delete(id));
				sock.on('error', () => {});
				log(`connection ${id} from ${sock.remoteAddress}:${sock.remotePort}`);
				inj.injectConnection(sock);
			});
			srv.once('error', reject);
			srv.listen({ host: opt.host, port, exclusive: true }, () => {
				srv.removeListener('error', reject);
				srv.on('error', (err) => log(`listener error: ${err.message}`));
				netServer = srv;
				listening = true;
				xdsPort = srv.address().port;
				resolve(xdsPort);
			});
		});
	}

	function stopListening(why = 'server stopped listening') {
		listening = false;
		for (const st of streams.values())
			closeStream(st, why);
		if (netServer) {
			netServer.close();
			netServer = null;
		}
		for (const c of sessions.conns.values())
			c.sock.destroy();
		if (injector) {
			injector.destroy();
			injector = null;
		}
	}

	async function relisten(port, tries = 50) {
		for (let i = 0; ; i++) {
			try {
				return await listen(port);
			} catch (err) {
				if (err.code !== 'EADDRINUSE' || i >= tries)
					throw err;
				await new Promise((r) => setTimeout(r, 100));
			}
		}
	}

	/* ---------------- control API ---------------- */
	class HttpError extends Error {
		constructor(code, msg, extra) {
			super(msg);
			this.code = code;
			this.extra = extra;
		}
	}

	const streamJson = (st, withNames) => {
		const types = {};
		for (const [t, ts] of st.types) {
			const names = [...ts.names];
			types[t] = {
				subscribed: ts.subscribed, wildcard: ts.wildcard,
				subscribed_names: withNames ? names : undefined,
				subscribed_count: names.length,
				requests: ts.requests,
				responses: ts.sent.length,
				sent: withNames ? ts.sent : ts.sent.slice(-5),
				last_sent_version: ts.lastVersion, last_sent_nonce: ts.lastNonce,
				acked_version: ts.acked ? ts.acked.version : null,
				acked_nonce: ts.acked ? ts.acked.nonce : null,
				nacked: ts.nacked,
				client_has: st.kind === 'delta' ? ts.have.size : undefined,
			};
		}
		return {
			id: st.id, kind: st.kind, open: st.open, peer: st.peer, conn: st.conn,
			opened_at: st.opened_at, closed_at: st.closed_at, close_reason: st.close_reason,
			node: st.node, auth: st.auth || null, types,
		};
	};

	function fieldIn(body, k, want, dflt) {
		const v = body[k];
		if (v === undefined || v === null) {
			if (dflt === undefined)
				throw new HttpError(400, `"${k}" is required`);
			return dflt;
		}
		if (want === 'int' ? !Number.isInteger(v) : want === 'array' ? !Array.isArray(v) : typeof v !== want)
			throw new HttpError(400, `"${k}" must be ${want === 'int' ? 'an integer' : want === 'array' ? 'an array' : 'a ' + want}`);
		return v;
	}

	function typeIn(body) {
		const t = normType(fieldIn(body, 'type_url', 'string'));
		try {
			conv.typeByUrl(t, 'type_url');
		} catch (e) {
			throw new HttpError(400, e.message);
		}
		return t;
	}

	function versionIn(body) {
		const v = body.version;
		if (v === undefined || v === null)
			return undefined;
		if (typeof v !== 'string' && typeof v !== 'number')
			throw new HttpError(400, '"version" must be a string');
		return String(v);
	}

	function ipAdd(base, n) {
		const p = base.split('.').map(Number);
		let v = ((p[0] << 24) >>> 0) + (p[1] << 16) + (p[2] << 8) + p[3] + n;
		return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
	}

	/* The generated set's endpoint layout: cluster i owns the addresses
	 * endpoint_base + i * (ne + spare) + 1 .. + ne + spare; round k (a
	 * churn) serves ne of them, starting at the k-th. endpoint_base
	 * 198.18.0.0 (a /15: at most 131000 endpoints), or in 127.0.0.0/8,
	 * which is all loopback (at most 1,000,000). */
	function genLayout(body) {
		const o = {
			ne: fieldIn(body, 'endpoints_per_cluster', 'int', 10),
			spare: fieldIn(body, 'spare', 'int', 0),
			prefix: fieldIn(body, 'prefix', 'string', 'gen'),
			base: fieldIn(body, 'endpoint_base', 'string', '198.18.0.0'),
			eport: fieldIn(body, 'endpoint_port', 'int', 8080),
		};
		if (!/^(198\.18\.0\.0|127\.\d+\.0\.0)$/.test(o.base))
			throw new HttpError(400, 'endpoint_base: 198.18.0.0 or 127.N.0.0');
		if (o.ne < 0 || o.spare < 0 || o.spare > 8)
			throw new HttpError(400, 'endpoints_per_cluster >= 0, spare 0..8');
		o.max = o.base.startsWith('127.') ? 1000000 : 131000;
		return o;
	}

	function genCla(o, i, round) {
		const w = o.ne + o.spare, lbe = [];
		/* the weight (equal for all) makes every round's set new to a
		 * Delta client even when its addresses repeat an earlier one */
		for (let j = 0; j < o.ne; j++)
			lbe.push({
				endpoint: { address: { socket_address: {
					address: ipAdd(o.base, i * w + ((j + round) % w) + 1), port_value: o.eport,
				} } },
				load_balancing_weight: round + 1,
			});
		return {
			cluster_name: `${o.prefix}-c${i}`,
			endpoints: [{ locality: { region: 'test', zone: 'z1' }, lb_endpoints: lbe }],
		};
	}

	/* POST /generate/churn {first, count, round, + the layout of
	 * /generate}: clusters first..first+count-1 get round's endpoints,
	 * one EDS version */
	function churn(body) {
		const o = genLayout(body);
		const first = fieldIn(body, 'first', 'int', 0);
		const count = fieldIn(body, 'count', 'int', 1);
		const round = fieldIn(body, 'round', 'int', 1);
		const s = getStore(T.EDS);
		const items = new Map(s.items);
		for (let i = first; i < first + count; i++) {
			const it = makeItem(T.EDS, genCla(o, i, round), `cla ${i}`);
			items.set(it.name, it);
		}
		return commit(T.EDS, items, versionIn(body));
	}

	function generate(body) {
		const nc = fieldIn(body, 'clusters', 'int', 10000);
		const o = genLayout(body);
		const ne = o.ne;
		const withL = fieldIn(body, 'listeners', 'boolean', true);
		const prefix = o.prefix;
		const vport = fieldIn(body, 'port', 'int', 80);
		const version = versionIn(body);
		if (nc < 0 || nc > 64000)
			throw new HttpError(400, 'clusters: 0..64000 (VIPs 10.200.0.1-10.200.255.250)');
		if (nc * (ne + o.spare) > o.max)
			throw new HttpError(400, `clusters * (endpoints_per_cluster + spare): at most ${o.max} ` +
				`(endpoints come from ${o.base})`);
		const t0 = process.hrtime.bigint();
		const cds = new Map(), eds = new Map(), lds = new Map();
		const add = (m, t, r, w) => {
			const it = makeItem(t, r, w);
			m.set(it.name, it);
		};
		for (let i = 0; i < nc; i++) {
			const cname = `${prefix}-c${i}`;
			add(cds, T.CDS, {
				name: cname, type: 'EDS', connect_timeout: '1s', lb_policy: 'ROUND_ROBIN',
				eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' } },
			}, `cluster ${i}`);
			add(eds, T.EDS, genCla(o, i, 0), `cla ${i}`);
			if (withL)
				add(lds, T.LDS, {
					name: `${prefix}-l${i}`,
					address: {
						socket_address: {
							address: `10.200.${Math.floor(i / 250)}.${(i % 250) + 1}`, port_value: vport,
						},
					},
					filter_chains: [{
						filters: [{
							name: 'envoy.filters.network.tcp_proxy',
							typed_config: {
								'@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
								stat_prefix: cname, cluster: cname,
							},
						}],
					}],
				}, `listener ${i}`);
		}
		const t1 = process.hrtime.bigint();
		const size = (m) => Buffer.concat([...m.values()].map((i) => i.entry)).length;
		const bytes = { cds: size(cds), eds: size(eds), lds: size(lds) };
		const out = {
			clusters: nc, endpoints: nc * ne, listeners: withL ? nc : 0,
			encode_ms: Number(t1 - t0) / 1e6,
			/* bytes of the resources of one full SotW response of each type
			 * (the header adds version, type URL and nonce: < 200 bytes) */
			bytes,
		};
		/* EDS and then CDS, LDS: a client that gets CDS first asks for EDS
		 * at once and finds it there */
		out.eds = commit(T.EDS, eds, version);
		out.cds = commit(T.CDS, cds, version);
		if (withL)
			out.lds = commit(T.LDS, lds, version);
		out.total_ms = Number(process.hrtime.bigint() - t0) / 1e6;
		return out;
	}

	async function route(method, url, body) {
		const u = new URL(url, 'http://x');
		const q = u.searchParams;
		const p = u.pathname.replace(/\/+$/, '') || '/';
		const post = (fn) => {
			if (method !== 'POST')
				throw new HttpError(405, `${p} wants POST`);
			if (!isObj(body))
				throw new HttpError(400, 'the body must be a JSON object');
			return fn();
		};
		const get = (fn) => {
			if (method !== 'GET')
				throw new HttpError(405, `${p} wants GET`);
			return fn();
		};
		switch (p) {
		case '/health':
			return { ok: true, listening, port: xdsPort };
		case '/resources':
			if (method === 'GET') {
				const out = {};
				const want = q.get('type_url') ? normType(q.get('type_url')) : null;
				for (const [t, s] of store) {
					if (want && t !== want)
						continue;
					out[t] = {
						set: s.set, version: s.version, count: s.items.size,
						resources: [...s.items.values()].map((i) => ({ name: i.name, hash: i.hash, bytes: i.size })),
					};
				}
				return out;
			}
			return post(() => {
				const t = typeIn(body);
				const list = fieldIn(body, 'resources', 'array');
				let items;
				try {
					items = buildItems(t, list, 'resources');
				} catch (e) {
					if (e instanceof JsonError)
						throw new HttpError(400, e.message, { where: e.where });
					throw e;
				}
				return commit(t, items, versionIn(body));
			});
		case '/resources/patch':
			return post(() => {
				const t = typeIn(body);
				const up = fieldIn(body, 'upsert', 'array', []);
				const rm = fieldIn(body, 'remove', 'array', []);
				if (!rm.every((n) => typeof n === 'string'))
					throw new HttpError(400, '"remove" must be an array of names');
				let ups;
				try {
					ups = buildItems(t, up, 'upsert');
				} catch (e) {
					if (e instanceof JsonError)
						throw new HttpError(400, e.message, { where: e.where });
					throw e;
				}
				const s = getStore(t);
				const items = new Map(s.items);
				const notFound = [];
				for (const n of rm) {
					if (!items.delete(n))
						notFound.push(n);
				}
				for (const [n, it] of ups)
					items.set(n, it);
				const r = commit(t, items, versionIn(body));
				r.not_found = notFound;
				return r;
			});
		case '/requests':
			return get(() => {
				const qint = (k) => {
					const v = q.get(k);
					if (v === null || v === '')
						return null;
					if (!/^\d+$/.test(v))
						throw new HttpError(400, `?${k}= wants a number`);
					return Number(v);
				};
				const since = qint('since') || 0;
				const t = q.get('type_url') ? normType(q.get('type_url')) : null;
				const sid = qint('stream');
				const kind = q.get('kind');
				const names = q.get('names') !== '0';
				let out = requests.filter((r) => r.seq > since && (!t || r.type_url === t) &&
					(sid === null || r.stream === sid) && (!kind || r.kind === kind));
				if (!names)
					out = out.map((r) => {
						const c = { ...r };
						for (const k of ['resource_names', 'subscribe', 'unsubscribe']) {
							if (c[k]) {
								c[k + '_count'] = c[k].length;
								delete c[k];
							}
						}
						if (c.initial_resource_versions) {
							c.initial_resource_versions_count = Object.keys(c.initial_resource_versions).length;
							delete c.initial_resource_versions;
						}
						return c;
					});
				return out;
			});
		case '/state':
			return get(() => {
				const withNames = q.get('names') !== '0';
				const res = {};
				for (const [t, s] of store)
					res[t] = { set: s.set, version: s.version, count: s.items.size };
				return {
					listening, port: xdsPort, control_port: ctlPort,
					connections: sessions.conns.size,
					streams: [...streams.values()].map((st) => streamJson(st, withNames)),
					resources: res,
					requests: requests.length,
				};
			});
		case '/drop':
			return post(() => {
				const code = fieldIn(body, 'code', 'int', grpc.status.UNAVAILABLE);
				const msg = fieldIn(body, 'message', 'string', 'xds test server: stream dropped');
				const sid = fieldIn(body, 'stream', 'int', 0);
				const done = [];
				for (const st of streams.values()) {
					if (!st.open || (sid && st.id !== sid))
						continue;
					const err = Object.assign(new Error(msg), { code, details: msg });
					closeStream(st, `dropped (${code})`);
					try {
						st.call.emit('error', err);
					} catch (e) {
						log(`drop ${st.id}: ${e.message}`);
					}
					done.push(st.id);
				}
				return { dropped: done };
			});
		case '/goaway':
			return post(() => {
				const grace = fieldIn(body, 'grace_ms', 'int', 100);
				const n = sessions.conns.size;
				for (const st of streams.values())
					if (st.open)
						st.goaway = true;
				if (injector)
					injector.drain(grace < 0 ? 2147483647 : grace);
				return { sessions: n, grace_ms: grace };
			});
		case '/restart':
			return post(async () => {
				const delay = fieldIn(body, 'delay_ms', 'int', 0);
				const wait = fieldIn(body, 'wait', 'boolean', false);
				if (delay < 0 || delay > 600000)
					throw new HttpError(400, 'delay_ms: 0..600000');
				if (restarting)
					throw new HttpError(409, 'a restart is already in progress');
				restarting = true;
				const port = xdsPort;
				stopListening('server restart');
				log(`restart: port ${port} closed for ${delay} ms`);
				const again = new Promise((r) => setTimeout(r, delay)).then(() => relisten(port))
					.then(() => {
						restarting = false;
						log(`restart: listening on ${port} again`);
					})
					.catch((e) => {
						process.stderr.write(`server.js: cannot listen again on ${port}: ${e.message}\n`);
						process.exit(1);
					});
				if (wait)
					await again;
				return { port, delay_ms: delay, listening };
			});
		case '/generate/churn':
			return post(() => churn(body));
		case '/generate':
			return post(() => {
				try {
					return generate(body);
				} catch (e) {
					if (e instanceof JsonError)
						throw new HttpError(400, e.message);
					throw e;
				}
			});
		case '/quit':
			return post(() => {
				setTimeout(() => shutdown(0), 20);
				return { bye: true };
			});
		default:
			throw new HttpError(404, `no such endpoint: ${method} ${p}`);
		}
	}

	const MAX_BODY = 256 * 1024 * 1024;
	let ctlPort = 0;
	const ctl = http.createServer((req, res) => {
		const chunks = [];
		let size = 0, tooBig = false;
		req.on('data', (c) => {
			size += c.length;
			if (size > MAX_BODY)
				tooBig = true;
			else
				chunks.push(c);
		});
		req.on('end', async () => {
			const reply = (code, obj) => {
				const s = JSON.stringify(obj) + '\n';
				res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(s) });
				res.end(s);
			};
			try {
				if (tooBig)
					throw new HttpError(413, `body over ${MAX_BODY} bytes`);
				let body = {};
				const raw = Buffer.concat(chunks).toString('utf8');
				if (raw.trim() !== '') {
					try {
						body = JSON.parse(raw);
					} catch (e) {
						throw new HttpError(400, `bad JSON: ${e.message}`);
					}
				}
				const out = await route(req.method, req.url, body);
				reply(200, out);
			} catch (e) {
				if (e instanceof HttpError)
					reply(e.code, { error: e.message, ...(e.extra || {}) });
				else {
					log(`control: ${e.stack}`);
					reply(500, { error: String(e && e.message || e) });
				}
			}
		});
		req.on('error', () => {});
	});
	ctl.on('clientError', (err, sock) => {
		try {
			sock.end('HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\n' +
				'connection: close\r\n\r\n{"error":"bad HTTP request"}\n');
		} catch (e) { /* gone */ }
	});

	function shutdown(code) {
		stopListening('server quit');
		try {
			grpcServer.forceShutdown();
		} catch (e) { /* already */ }
		ctl.close();
		process.exit(code);
	}
	process.on('SIGTERM', () => shutdown(0));
	process.on('SIGINT', () => shutdown(0));
	process.on('uncaughtException', (e) => {
		process.stderr.write(`server.js: uncaught: ${e.stack}\n`);
	});

	(async () => {
		if (opt.init) {
			try {
				const j = JSON.parse(fs.readFileSync(opt.init, 'utf8'));
				const byType = j.resources && isObj(j.resources) ? j.resources : j;
				for (const [t0, list] of Object.entries(byType)) {
					const t = normType(t0);
					conv.typeByUrl(t, 'type_url');
					commit(t, buildItems(t, list, t0), undefined);
				}
			} catch (e) {
				process.stderr.write(`server.js: --init ${opt.init}: ${e.message}\n`);
				process.exit(2);
			}
		}
		try {
			await listen(opt.port);
			await new Promise((resolve, reject) => {
				ctl.once('error', reject);
				ctl.listen({ host: '127.0.0.1', port: opt.controlPort }, resolve);
			});
		} catch (e) {
			process.stderr.write(`server.js: listen: ${e.message}\n`);
			process.exit(1);
		}
		ctlPort = ctl.address().port;
		process.stdout.write(`listening ${xdsPort}\ncontrol ${ctlPort}\n`);
		if (opt.readyFile) {
			const tmp = `${opt.readyFile}.tmp${process.pid}`;
			fs.writeFileSync(tmp, `${xdsPort}\n`);
			fs.renameSync(tmp, opt.readyFile);
		}
		log(`ready: xds ${opt.host}:${xdsPort}, control 127.0.0.1:${ctlPort}`);
	})();
}

function structToJson(s) {
	if (!s || !s.fields)
		return s ? {} : null;
	const o = {};
	for (const [k, v] of Object.entries(s.fields))
		o[k] = valueToJson(v);
	return o;
}

function valueToJson(v) {
	if (!v)
		return null;
	/* snake_case or lowerCamelCase (protobufjs's bundled struct.proto) */
	const kind = v.kind || Object.keys(v).find((k) => v[k] !== null && v[k] !== undefined);
	if (!kind)
		return null;
	const x = v[kind];
	switch (snake(kind)) {
	case 'null_value': return null;
	case 'number_value': return Number(x);
	case 'string_value': return x;
	case 'bool_value': return x;
	case 'struct_value': return structToJson(x);
	case 'list_value': return ((x && x.values) || []).map(valueToJson);
	default: return null;
	}
}
module.exports.structToJson = structToJson;

if (require.main === module)
	main();
