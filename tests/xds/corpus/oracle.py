#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""
The oracle: what Envoy does with a corpus entry's config, for every
outbound destination. Reads DATA_DIR/{cds,eds,lds,rds,meta}.json (what the
test pushes), prints JSON:

  {"l4":   [{"id", "addr", "port", "listener", "client", "host",
             "expect": {"kind", "clusters"}, "why"}],
   "http": [{"id", "listener", "port", "addr", "host", "path",
             "headers", "expect": {...}, "why"}],
   "excluded": [{"what", "why"}],
   "inbound": [listener names]}

expect.kind: "cluster" (clusters: [[name, weight]...], the weights as
configured), "passthrough" (the connection goes where it was dialed),
"blackhole" (refused), "none" (Envoy closes it: no filter chain, no route,
no cluster). DNS clusters are "cluster" too (Envoy resolves them).

Envoy's rules modelled, for a connection a sidecar's application opens
(iptables REDIRECT to the virtual outbound listener, original destination
recovered):
- listener: of those not warming (an HTTP chain whose RDS route config
  has not arrived keeps the whole listener out of service), the one bound
  to the exact IP:PORT, else the wildcard
  0.0.0.0:PORT ([::]:PORT), else the virtual listener (use_original_dst,
  original_dst listener filter) itself;
- filter chain: Envoy's FilterChainMatch order (destination_port,
  prefix_ranges by longest prefix, server_names, transport_protocol,
  application_protocols, source_type, source_prefix_ranges, source_ports);
  at each level the most specific matching value, else the chains without
  that criterion, else no chain (default_filter_chain, else closed). The
  traffic: plaintext, no SNI; transport "raw_buffer" only when the listener
  has tls_inspector; ALPN "http/1.1" only for an HTTP client on a listener
  with http_inspector; source the pod's own IP (EXTERNAL: not the
  destination, not loopback);
- HTTP: virtual host by Host (exact domain, then the longest "*suffix",
  then the longest "prefix*", then "*"; case-insensitive), then the first
  route whose path and header matchers match;
- clusters: ORIGINAL_DST is the passthrough; a STATIC cluster without
  endpoints (BlackHoleCluster) the blackhole; a cluster CDS lacks is "none"
  (Envoy's NC).

Destinations ("every outbound destination"):
- L4: every non-inbound listener's own IP:PORT; every host address (/32,
  /128) in a wildcard listener's prefix_ranges; for a wider range its first
  host; every IP domain (VIP or VIP:PORT) of the route config behind a
  wildcard HTTP listener (istiod's 0.0.0.0_PORT + RDS "PORT"); one address
  no listener or domain names on each wildcard listener's port; one address
  and port nothing names at all (the virtual listener). The client is the
  one the test runs: an HTTP/1.1 GET / with Host IP:PORT (a tcp_proxy
  chain does not look at it; a sniffing listener sees HTTP).
- HTTP: on every HTTP chain an outbound client can reach (wildcard
  listeners by port; sniffed and HTTP-only VIP listeners), every domain of
  every virtual host as Host ("*" -> a name nothing else matches, "*.x" ->
  "w.x", "x.*" -> "x.w") and, per route of that virtual host, a path its
  matcher takes (prefix, path, path_separated_prefix; header matchers
  satisfied). Routes whose match cannot be written as one request
  (regex, runtime fractions) are excluded and listed.
Inbound listeners (traffic_direction INBOUND, or the pod's own IPs) are
not outbound destinations: listed, not counted.
"""
import ipaddress
import json
import os
import sys

UNLISTED_V4 = '10.255.254.253'	# in no dump, no test network
UNLISTED_PORT = 1


def load(d, f):
    with open(os.path.join(d, f)) as fh:
        return json.load(fh)


def ip_of(s):
    try:
        return ipaddress.ip_address(s)
    except ValueError:
        return None


def wildcard(ip):
    return ip is not None and ip.is_unspecified


class Config:
    def __init__(self, d):
        self.meta = load(d, 'meta.json')
        self.clusters = {c['name']: c for c in load(d, 'cds.json')}
        self.cla = {c['cluster_name']: c for c in load(d, 'eds.json')}
        self.listeners = load(d, 'lds.json')
        self.routes = {r['name']: r for r in load(d, 'rds.json')}
        node = self.meta.get('node_id', '')
        ips = [x for x in self.meta.get('instance_ips', '').split(',') if x]
        parts = node.split('~')
        if len(parts) > 1 and ip_of(parts[1]):
            ips.append(parts[1])
        self.pod_ips = {ip_of(x) for x in ips if ip_of(x)}
        self.pod_ip = next((x for x in self.pod_ips if x.version == 4), None)

    # ---- clusters ------------------------------------------------------

    def cluster_kind(self, name):
        c = self.clusters.get(name)
        if c is None:
            return 'none', 'cluster %s is not in CDS (NC)' % name
        t = c.get('type', 'STATIC')
        if t == 'ORIGINAL_DST':
            return 'passthrough', 'ORIGINAL_DST cluster %s' % name
        if t == 'STATIC':
            la = c.get('load_assignment') or {}
            n = sum(len(g.get('lb_endpoints', [])) for g in la.get('endpoints', []))
            if n == 0:
                return 'blackhole', 'STATIC cluster %s has no endpoints' % name
        return 'cluster', 'cluster %s (%s)' % (name, t)

    def action(self, clusters, why):
        """[(name, weight)] -> expect"""
        if len(clusters) == 1:
            k, w = self.cluster_kind(clusters[0][0])
            if k != 'cluster':
                return {'kind': k, 'clusters': [], 'cluster': clusters[0][0]}, why + '; ' + w
        return {'kind': 'cluster', 'clusters': clusters}, why

    # ---- listeners -----------------------------------------------------

    def addr_of(self, l):
        sa = l.get('address', {}).get('socket_address', {})
        return ip_of(sa.get('address', '')), sa.get('port_value')

    def inbound(self, l):
        ip, _ = self.addr_of(l)
        return l.get('traffic_direction') == 'INBOUND' or (ip in self.pod_ips)

    def virtual(self, l):
        if self.addr_of(l)[0] is None:
            return False
        if l.get('use_original_dst'):
            return True
        return any(f.get('name') in ('envoy.filters.listener.original_dst', 'envoy.listener.original_dst')
                   for f in l.get('listener_filters', [])) and l.get('traffic_direction') != 'INBOUND' \
            and l.get('name') != 'virtualInbound'

    def has_filter(self, l, what):
        return any(what in f.get('name', '') or what in (f.get('typed_config') or {}).get('@type', '')
                   for f in l.get('listener_filters', []))

    def warming(self, l):
        """A listener waiting for a route config RDS has not sent: Envoy does
        not use it yet (istiod sets no initial_fetch_timeout)."""
        for fc in l.get('filter_chains', []) + [l.get('default_filter_chain') or {}]:
            k, conf = self.chain_kind(fc)
            if k == 'http' and 'rds' in conf and conf['rds'].get('route_config_name') not in self.routes:
                return True
        return False

    def find_listener(self, ip, port):
        exact = wild = virt = None
        for l in self.listeners:
            if self.warming(l):
                continue
            if self.virtual(l):
                virt = virt or l
                continue
            lip, lport = self.addr_of(l)
            if lport != port or lip is None or lip.version != ip.version:
                continue
            if lip == ip:
                exact = l
            elif wildcard(lip):
                wild = l
        return exact or wild or virt

    # ---- filter chains -------------------------------------------------

    def pick_chain(self, l, ip, port, http_client):
        tls_insp = self.has_filter(l, 'tls_inspector')
        http_insp = self.has_filter(l, 'http_inspector')
        transport = 'raw_buffer' if tls_insp else ''
        alpn = ['http/1.1'] if (http_client and http_insp) else []
        chains = [(i, fc, fc.get('filter_chain_match') or {}) for i, fc in enumerate(l.get('filter_chains', []))]

        def level(cands, key, match):
            """match(value) -> specificity (None: no match); chains without
            the criterion are the fallback."""
            best, with_v = None, []
            for c in cands:
                v = c[2].get(key)
                if v in (None, [], '', 0):
                    continue
                s = match(v)
                if s is None:
                    continue
                if best is None or s > best:
                    best, with_v = s, [c]
                elif s == best:
                    with_v.append(c)
            if with_v:
                return with_v
            return [c for c in cands if c[2].get(key) in (None, [], '', 0)]

        def prefix_match(ranges):
            best = None
            for r in ranges:
                try:
                    net = ipaddress.ip_network('%s/%s' % (r['address_prefix'], r.get('prefix_len', 32 if ':' not in r['address_prefix'] else 128)), strict=False)
                except ValueError:
                    continue
                if net.version == ip.version and ip in net:
                    best = net.prefixlen if best is None else max(best, net.prefixlen)
            return best

        src = self.pod_ip
        steps = [
            ('destination_port', lambda v: 1 if v == port else None),
            ('prefix_ranges', prefix_match),
            ('server_names', lambda v: None),		# no SNI
            ('transport_protocol', lambda v: 1 if v == transport else None),
            ('application_protocols', lambda v: 1 if set(v) & set(alpn) else None),
            ('source_type', lambda v: 1 if v in ('EXTERNAL', 'ANY') else None),
            ('source_prefix_ranges', lambda v: (1 if src and any(
                src in ipaddress.ip_network('%s/%s' % (r['address_prefix'], r.get('prefix_len', 32)), strict=False)
                for r in v if ':' not in r['address_prefix']) else None)),
            ('source_ports', lambda v: None),
        ]
        cands = chains
        for key, m in steps:
            cands = level(cands, key, m)
            if not cands:
                break
        if cands:
            return cands[0][0], cands[0][1]
        if l.get('default_filter_chain'):
            return 'default', l['default_filter_chain']
        return None, None

    def chain_kind(self, fc):
        """('tcp', tcp_proxy config) / ('http', hcm config) / (None, None)"""
        for f in fc.get('filters', []):
            t = (f.get('typed_config') or {}).get('@type', '')
            if t.endswith('.TcpProxy'):
                return 'tcp', f['typed_config']
            if t.endswith('.HttpConnectionManager'):
                return 'http', f['typed_config']
        return None, None

    def tcp_expect(self, tp, why):
        if 'weighted_clusters' in tp:
            cl = [[w['name'], w.get('weight', 1)] for w in tp['weighted_clusters'].get('clusters', [])]
        else:
            cl = [[tp.get('cluster', ''), 1]]
        return self.action(cl, why + '; tcp_proxy')

    def route_config_of(self, hcm):
        if 'rds' in hcm:
            return self.routes.get(hcm['rds'].get('route_config_name'))
        return hcm.get('route_config')

    # ---- HTTP ----------------------------------------------------------

    @staticmethod
    def domain_score(dom, host):
        """Envoy's precedence: (class, length); None: no match."""
        d, h = dom.lower(), host.lower()
        if d == h:
            return (4, len(d))
        if d == '*':
            return (1, 0)
        if d.startswith('*') and h.endswith(d[1:]) and len(h) > len(d) - 1:
            return (3, len(d))
        if d.endswith('*') and h.startswith(d[:-1]) and len(h) > len(d) - 1:
            return (2, len(d))
        return None

    def pick_vhost(self, rc, host):
        best, bv = None, None
        for vh in rc.get('virtual_hosts', []):
            for d in vh.get('domains', []):
                s = self.domain_score(d, host)
                if s is not None and (best is None or s > best):
                    best, bv = s, vh
        return bv

    @staticmethod
    def header_ok(hm, headers):
        name = hm['name'].lower()
        v = headers.get(name)
        inv = hm.get('invert_match', False)
        if 'present_match' in hm:
            ok = (v is not None) == hm['present_match']
        elif v is None:
            ok = False
        elif 'exact_match' in hm:
            ok = v == hm['exact_match']
        elif 'prefix_match' in hm:
            ok = v.startswith(hm['prefix_match'])
        elif 'suffix_match' in hm:
            ok = v.endswith(hm['suffix_match'])
        elif 'string_match' in hm:
            sm = hm['string_match']
            ok = ('exact' in sm and v == sm['exact']) or ('prefix' in sm and v.startswith(sm['prefix'])) \
                or ('suffix' in sm and v.endswith(sm['suffix'])) or ('contains' in sm and sm['contains'] in v)
        else:
            return None		# regex, range: not modelled
        return ok != inv

    def route_matches(self, r, path, headers):
        m = r.get('match', {})
        if 'runtime_fraction' in m or 'query_parameters' in m or 'grpc' in m:
            return None
        cs = m.get('case_sensitive', True)
        p = path.split('?')[0]
        pp, pq = (p, None) if cs else (p.lower(), None)
        if 'prefix' in m:
            want = m['prefix'] if cs else m['prefix'].lower()
            ok = pp.startswith(want)
        elif 'path' in m:
            want = m['path'] if cs else m['path'].lower()
            ok = pp == want
        elif 'path_separated_prefix' in m:
            want = m['path_separated_prefix']
            ok = pp == want or pp.startswith(want + '/')
        else:
            return None
        if not ok:
            return False
        for hm in m.get('headers', []):
            h = self.header_ok(hm, headers)
            if h is None:
                return None
            if not h:
                return False
        return True

    def probe_for(self, r):
        """(path, headers) a route's matcher takes, or None."""
        m = r.get('match', {})
        if 'runtime_fraction' in m or 'query_parameters' in m or 'grpc' in m:
            return None
        if 'prefix' in m:
            path = m['prefix'] or '/'
            if not path.startswith('/'):
                path = '/' + path
        elif 'path' in m:
            path = m['path']
        elif 'path_separated_prefix' in m:
            path = m['path_separated_prefix']
        else:
            return None
        headers = {}
        for hm in m.get('headers', []):
            if hm.get('invert_match'):
                return None
            n = hm['name'].lower()
            if n.startswith(':'):
                return None
            if 'exact_match' in hm:
                headers[n] = hm['exact_match']
            elif 'prefix_match' in hm:
                headers[n] = hm['prefix_match'] + 'x'
            elif 'string_match' in hm and ('exact' in hm['string_match'] or 'prefix' in hm['string_match']):
                sm = hm['string_match']
                headers[n] = sm.get('exact', sm.get('prefix', '') + 'x')
            elif hm.get('present_match'):
                headers[n] = 'x'
            else:
                return None
        return path, headers

    def route_expect(self, r, why):
        if 'route' in r:
            a = r['route']
            if 'cluster' in a:
                return self.action([[a['cluster'], 1]], why)
            if 'weighted_clusters' in a:
                return self.action([[w['name'], w.get('weight', 1)] for w in a['weighted_clusters']['clusters']], why)
            return None, why + '; cluster_header or other specifier: not modelled'
        if 'redirect' in r:
            return {'kind': 'redirect', 'clusters': []}, why + '; redirect'
        if 'direct_response' in r:
            return {'kind': 'direct_response', 'status': r['direct_response'].get('status'), 'clusters': []}, \
                why + '; direct_response'
        return {'kind': 'none', 'clusters': []}, why + '; no action'

    def http_expect(self, rc, host, path, headers, why):
        if rc is None:
            return {'kind': 'none', 'clusters': []}, why + '; route config not in RDS (listener warming)'
        vh = self.pick_vhost(rc, host)
        if vh is None:
            return {'kind': 'none', 'clusters': []}, why + '; no virtual host for %s (404)' % host
        for i, r in enumerate(vh.get('routes', [])):
            ok = self.route_matches(r, path, headers)
            if ok is None:
                return None, why + '; vhost %s route %d cannot be evaluated' % (vh['name'], i)
            if ok:
                return self.route_expect(r, why + '; vhost %s route %d' % (vh['name'], i))
        return {'kind': 'none', 'clusters': []}, why + '; vhost %s: no route (404)' % vh['name']


def example_host(dom):
    if dom == '*':
        return 'unlisted.example.invalid'
    if dom.startswith('*'):
        return 'w' + dom[1:]
    if dom.endswith('*'):
        return dom[:-1] + 'w'
    return dom


def main():
    d = sys.argv[1]
    cf = Config(d)
    out = {'l4': [], 'http': [], 'excluded': [], 'inbound': []}
    l4_seen = set()

    def l4(ip, port, why_listener):
        key = (str(ip), port)
        if key in l4_seen:
            return
        l4_seen.add(key)
        l = cf.find_listener(ip, port)
        host = '%s:%d' % (ip, port) if ip.version == 4 else '[%s]:%d' % (ip, port)
        ent = {'id': 'l4 %s' % host, 'addr': str(ip), 'port': port, 'origin': why_listener,
               'listener': l['name'] if l else None}
        if l is None:
            ent.update(client='tcp', expect={'kind': 'passthrough', 'clusters': []},
                       why='no listener, no virtual listener: not captured')
            out['l4'].append(ent)
            return
        if cf.inbound(l):
            out['excluded'].append({'what': ent['id'], 'why': 'reaches inbound listener %s' % l['name']})
            return
        why = 'listener %s' % l['name']
        # the client the test runs: GET / with Host IP:PORT
        idx, fc = cf.pick_chain(l, ip, port, True)
        kind, conf = cf.chain_kind(fc) if fc else (None, None)
        ent.update(client='http', chain=idx, host=host, path='/')
        if kind == 'tcp':
            e, w = cf.tcp_expect(conf, '%s chain %s' % (why, idx))
        elif kind == 'http':
            e, w = cf.http_expect(cf.route_config_of(conf), host, '/', {}, '%s chain %s' % (why, idx))
        else:
            e, w = {'kind': 'none', 'clusters': []}, why + '; no filter chain matches'
        if e is None:
            out['excluded'].append({'what': ent['id'], 'why': w})
            return
        ent.update(expect=e, why=w)
        out['l4'].append(ent)

    http_seen = set()

    def http_dests(l, fc_idx, hcm, addr):
        rc = cf.route_config_of(hcm)
        if rc is None:
            out['excluded'].append({'what': 'http %s' % l['name'],
                                    'why': 'its route config %s is not in the dump' % hcm.get('rds', {}).get('route_config_name')})
            return
        port = cf.addr_of(l)[1]
        for vh in rc.get('virtual_hosts', []):
            for dom in vh.get('domains', []):
                host = example_host(dom)
                for ri, r in enumerate(vh.get('routes', [])):
                    pr = cf.probe_for(r)
                    if pr is None:
                        out['excluded'].append({'what': 'http %s host %s vhost %s route %d' % (l['name'], host, vh['name'], ri),
                                                'why': 'its match cannot be written as one request: %s' % json.dumps(r.get('match'))})
                        continue
                    path, headers = pr
                    key = (l['name'], host, path, json.dumps(headers, sort_keys=True))
                    if key in http_seen:
                        continue
                    http_seen.add(key)
                    e, w = cf.http_expect(rc, host, path, headers, 'listener %s chain %s' % (l['name'], fc_idx))
                    ent = {'id': 'http %s %s %s%s' % (l['name'], host, path, ''.join(' %s=%s' % kv for kv in sorted(headers.items()))),
                           'listener': l['name'], 'port': port, 'addr': addr, 'host': host, 'path': path,
                           'headers': headers}
                    if e is None:
                        out['excluded'].append({'what': ent['id'], 'why': w})
                        continue
                    ent.update(expect=e, why=w)
                    out['http'].append(ent)

    for l in cf.listeners:
        ip, port = cf.addr_of(l)
        if cf.inbound(l):
            out['inbound'].append(l['name'])
            continue
        if ip is None:
            out['excluded'].append({'what': 'listener %s' % l['name'], 'why': 'not an IP socket address'})
            continue
        if cf.virtual(l):
            continue
        if not wildcard(ip):
            l4(ip, port, 'listener address')
            # HTTP chains a client reaches on this address
            for http_client in (False, True):
                idx, fc = cf.pick_chain(l, ip, port, http_client)
                kind, conf = cf.chain_kind(fc) if fc else (None, None)
                if kind == 'http':
                    http_dests(l, idx, conf, '%s:%d' % (ip, port))
                    break
            continue
        # wildcard: host prefixes, wider prefixes, VIP domains, one other
        for fc in l.get('filter_chains', []):
            for r in (fc.get('filter_chain_match') or {}).get('prefix_ranges', []):
                try:
                    net = ipaddress.ip_network('%s/%s' % (r['address_prefix'], r.get('prefix_len', 32 if ':' not in r['address_prefix'] else 128)), strict=False)
                except ValueError:
                    continue
                if net.version != ip.version:
                    continue
                a = net.network_address if net.num_addresses == 1 else net.network_address + 1
                l4(a, port, 'prefix_ranges %s' % net)
        other = ipaddress.ip_address(UNLISTED_V4) if ip.version == 4 else None
        for http_client in (False, True):
            idx, fc = cf.pick_chain(l, other or ip, port, http_client)
            kind, conf = cf.chain_kind(fc) if fc else (None, None)
            if kind == 'http':
                rc = cf.route_config_of(conf)
                for vh in (rc or {}).get('virtual_hosts', []):
                    for dom in vh.get('domains', []):
                        h, _, p = dom.rpartition(':') if dom.count(':') == 1 else (dom, '', '')
                        a = ip_of(h)
                        if a is not None and a.version == ip.version and (not p or p == str(port)):
                            l4(a, port, 'virtual host %s domain %s' % (vh['name'], dom))
                http_dests(l, idx, conf, 'wildcard:%d' % port)
                break
        if other is not None:
            l4(other, port, 'an address nothing names on a wildcard listener port')
    if any(cf.virtual(l) for l in cf.listeners):
        l4(ipaddress.ip_address(UNLISTED_V4), UNLISTED_PORT, 'an address and port nothing names')
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()
