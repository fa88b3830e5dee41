#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""
Turn an Envoy sidecar config dump (istioctl's testdata) into the CDS, EDS,
LDS and RDS responses istiod pushes, as tests/xds data.

    convert.py --name NAME --origin 'REPO PATH COMMIT' DUMP OUTDIR

Writes OUTDIR/{cds,eds,lds,rds}.json (arrays of Envoy v3 resources in
proto3 JSON, what tests/xds/server.js serves) and OUTDIR/meta.json (origin,
node, Istio version, every conversion made and how often, the endpoint
address map). What it does, in order:

- Takes the dynamic resources only (dynamic_active_clusters,
  dynamic_listeners' active state, dynamic_route_configs,
  dynamic_endpoint_configs): the static ones are the bootstrap's, never
  pushed.
- Envoy v2 resources (Istio <= 1.5) are upgraded to v3 as Envoy's own v2 to
  v3 upgrade does: type URLs renamed, the Struct `config` of a filter turned
  into the typed_config of the filter's own type, tls_context into a tls
  transport_socket, deprecated_v1.bind_to_port into bind_to_port,
  use_original_dst into the original_dst listener filter,
  verify_subject_alt_name into match_subject_alt_names. Fields v3 removed
  that change nothing kmesh or Envoy routes on (per_filter_config, tracing
  operation_name) are dropped; each drop is counted in meta.json.
- An Any whose type is not Envoy's (Istio's own filters: mixer, istio.stats,
  authn, alpn, metadata exchange...) keeps its type URL and carries no
  bytes ({"@raw_base64": ""}): server.js cannot encode Istio's protos, and
  kmesh tells filters apart by type URL only.
- Endpoints: every endpoint address is rewritten to a test address, unique
  per (cluster, endpoint), port ENDPOINT_PORT: ENDPOINT_NET + n. EDS
  clusters without a ClusterLoadAssignment in the dump (most dumps hold no
  EDS) get one synthesized endpoint each, listed in meta.json. Clusters
  a listener or route names but the dump lacks (listener-only dumps) are
  synthesized as istiod makes them (PassthroughCluster ORIGINAL_DST,
  BlackHoleCluster STATIC without endpoints, the rest EDS), listed too. Service addresses (VIPs, pod
  IPs) are left as they are: the test dials them from a network namespace
  with no route out.
"""
import argparse
import collections
import ipaddress
import json
import re
import sys

ENDPOINT_NET = ipaddress.ip_network('10.93.128.0/17')
ENDPOINT_PORT = 8080
TEST_NETS = [ipaddress.ip_network('10.93.0.0/16')]

T = 'type.googleapis.com/'
V3 = {
    'envoy.api.v2.Cluster': 'envoy.config.cluster.v3.Cluster',
    'envoy.api.v2.Listener': 'envoy.config.listener.v3.Listener',
    'envoy.api.v2.RouteConfiguration': 'envoy.config.route.v3.RouteConfiguration',
    'envoy.api.v2.ClusterLoadAssignment': 'envoy.config.endpoint.v3.ClusterLoadAssignment',
    'envoy.api.v2.auth.UpstreamTlsContext': 'envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
    'envoy.api.v2.auth.DownstreamTlsContext': 'envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
}
# v2 filter names (Struct `config`) -> their v3 config type
FILTER_TYPE = {
    'envoy.tcp_proxy': 'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
    'envoy.http_connection_manager': 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
    'envoy.router': 'envoy.extensions.filters.http.router.v3.Router',
    'envoy.cors': 'envoy.extensions.filters.http.cors.v3.Cors',
    'envoy.fault': 'envoy.extensions.filters.http.fault.v3.HTTPFault',
    'envoy.filters.network.rbac': 'envoy.extensions.filters.network.rbac.v3.RBAC',
    'envoy.filters.http.rbac': 'envoy.extensions.filters.http.rbac.v3.RBAC',
    'envoy.file_access_log': 'envoy.extensions.access_loggers.file.v3.FileAccessLog',
    'envoy.filters.http.grpc_stats': 'envoy.extensions.filters.http.grpc_stats.v3.FilterConfig',
    # Istio's own (no bytes, see above)
    'mixer@network': 'istio.mixer.v1.config.client.TcpClientConfig',
    'mixer@http': 'istio.mixer.v1.config.client.HttpClientConfig',
    'istio_authn': 'istio.envoy.config.filter.http.authn.v2alpha1.FilterConfig',
    'jwt-auth': 'istio.envoy.config.filter.http.jwt_auth.v2alpha1.JwtAuthentication',
    'istio.alpn': 'istio.envoy.config.filter.http.alpn.v2alpha1.FilterConfig',
}

# Envoy-looking types that are Istio's own, or not in the Envoy API
# version the test control plane bundles
NOT_ENVOY = {
    'envoy.tcp.metadataexchange.config.MetadataExchange',
    'xds.type.matcher.v3.IPMatcher',
}

notes = collections.Counter()


def note(what):
    notes[what] += 1


def v3_type(url):
    """An Any type URL, upgraded; None for a non-Envoy type."""
    name = url[len(T):] if url.startswith(T) else url
    if name in V3:
        note('type %s -> %s' % (name, V3[name]))
        return T + V3[name]
    m = re.match(r'envoy\.config\.filter\.(network|http|listener)\.([a-z_]+)\.v2(?:alpha1?)?\.(\w+)$', name)
    if m:
        new = 'envoy.extensions.filters.%s.%s.v3.%s' % m.groups()
        note('type %s -> %s' % (name, new))
        return T + new
    if name in NOT_ENVOY:
        return None
    if name.startswith(('envoy.', 'udpa.', 'xds.', 'google.protobuf.')):
        return T + name
    return None


def raw_any(url):
    note('Istio type %s: type URL kept, no bytes' % url[len(T):])
    return {'@type': url, '@raw_base64': ''}


def fix_any(a, kind):
    """An Any (typed_config): upgraded in place, or replaced by a raw one."""
    url = a.get('@type', '')
    new = v3_type(url)
    if new is None:
        return raw_any(url)
    a['@type'] = new
    fix_msg(a, new[len(T):])
    return a


def struct_to_typed(name, config, kind):
    """v2 `config: Struct` of filter NAME -> a typed_config."""
    key = name if name in FILTER_TYPE else '%s@%s' % (name, kind)
    t = FILTER_TYPE.get(key)
    note('filter %s: Struct config -> typed_config' % name)
    if t is None or t.startswith('istio.'):
        if t is None:
            note('filter %s: unknown type, TypedStruct' % name)
            return {'@type': T + 'udpa.type.v1.TypedStruct', 'type_url': '', 'value': config}
        return raw_any(T + t)
    a = dict(config)
    a['@type'] = T + t
    fix_msg(a, t)
    return a


def fix_tls(ctx, kind):
    cc = ctx.get('common_tls_context', {})
    vc = cc.get('validation_context')
    if vc and 'verify_subject_alt_name' in vc:
        vc['match_subject_alt_names'] = [{'exact': s} for s in vc.pop('verify_subject_alt_name')]
        note('verify_subject_alt_name -> match_subject_alt_names')
    return ctx


def tls_socket(ctx, kind):
    t = T + 'envoy.extensions.transport_sockets.tls.v3.%sTlsContext' % kind
    a = dict(fix_tls(ctx, kind))
    a['@type'] = t
    note('tls_context -> transport_socket (%sTlsContext)' % kind)
    return {'name': 'envoy.transport_sockets.tls', 'typed_config': a}


def fix_filters(filters, kind):
    for f in filters:
        if 'config' in f:
            f['typed_config'] = struct_to_typed(f['name'], f.pop('config'), kind)
        elif 'typed_config' in f:
            f['typed_config'] = fix_any(f['typed_config'], kind)


def fix_route_config(rc):
    for vh in rc.get('virtual_hosts', []):
        for coll in [vh] + vh.get('routes', []):
            if 'per_filter_config' in coll:
                del coll['per_filter_config']
                note('per_filter_config dropped (removed in v3; Istio: mixer attributes)')
            tp = coll.get('typed_per_filter_config')
            if tp:
                for k in list(tp):
                    tp[k] = fix_any(tp[k], 'http')
        for r in vh.get('routes', []):
            rp = (r.get('route') or {}).get('retry_policy') or {}
            for p in rp.get('retry_host_predicate', []):
                if 'config' in p:
                    del p['config']
                    note('retry_host_predicate config dropped')


def fix_access_logs(logs):
    for al in logs:
        if 'config' in al:
            al['typed_config'] = struct_to_typed(al.get('name', ''), al.pop('config'), 'log')
        elif 'typed_config' in al:
            al['typed_config'] = fix_any(al['typed_config'], 'log')


def fix_msg(m, t):
    """Field-level v2 -> v3 changes inside a typed message of type T."""
    if t.endswith('HttpConnectionManager'):
        fix_filters(m.get('http_filters', []), 'http')
        fix_access_logs(m.get('access_log', []))
        tr = m.get('tracing')
        if tr and 'operation_name' in tr:
            del tr['operation_name']
            note('tracing.operation_name dropped (removed in v3)')
        if 'route_config' in m:
            m['route_config'].pop('@type', None)
            fix_route_config(m['route_config'])
    elif t.endswith('TcpProxy'):
        fix_access_logs(m.get('access_log', []))
    elif t.endswith('TlsContext'):
        fix_tls(m, '')
    elif t.endswith('.RBAC'):
        fix_regex(m)


def fix_regex(o):
    """v2 StringMatcher.regex -> v3 safe_regex (RBAC matchers)."""
    if isinstance(o, dict):
        if set(o) <= {'regex', 'ignore_case'} and isinstance(o.get('regex'), str):
            o['safe_regex'] = {'google_re2': {}, 'regex': o.pop('regex')}
            note('StringMatcher.regex -> safe_regex')
        for k, v in o.items():
            if k not in ('safe_regex', 'safe_regex_match'):	# v3 RegexMatcher
                fix_regex(v)
    elif isinstance(o, list):
        for v in o:
            fix_regex(v)


def fix_nested_anys(o, top=True):
    """Any nested anywhere whose type is not Envoy's: raw (see above)."""
    if isinstance(o, dict):
        if not top and '@type' in o and '@raw_base64' not in o:
            if v3_type(o['@type']) is None:
                return raw_any(o['@type'])
        for k, v in o.items():
            o[k] = fix_nested_anys(v, False)
    elif isinstance(o, list):
        return [fix_nested_anys(v, False) for v in o]
    return o


def fix_listener(l):
    if 'deprecated_v1' in l:
        b = l.pop('deprecated_v1').get('bind_to_port')
        if b is not None:
            l['bind_to_port'] = b
        note('deprecated_v1.bind_to_port -> bind_to_port')
    if l.pop('use_original_dst', None):
        l.setdefault('listener_filters', []).insert(0, {'name': 'envoy.filters.listener.original_dst'})
        note('use_original_dst -> original_dst listener filter')
    for lf in l.get('listener_filters', []):
        if 'typed_config' in lf:
            lf['typed_config'] = fix_any(lf['typed_config'], 'listener')
    for fc in l.get('filter_chains', []):
        if 'tls_context' in fc:
            fc['transport_socket'] = tls_socket(fc.pop('tls_context'), 'Downstream')
        if 'transport_socket' in fc and 'typed_config' in fc['transport_socket']:
            fc['transport_socket']['typed_config'] = fix_any(fc['transport_socket']['typed_config'], 'ts')
        fix_filters(fc.get('filters', []), 'network')
    dfc = l.get('default_filter_chain')
    if dfc:
        fix_filters(dfc.get('filters', []), 'network')


def fix_cluster(c):
    if c.get('lb_policy') == 'ORIGINAL_DST_LB':
        c['lb_policy'] = 'CLUSTER_PROVIDED'
        note('lb_policy ORIGINAL_DST_LB -> CLUSTER_PROVIDED')
    if 'tls_context' in c:
        c['transport_socket'] = tls_socket(c.pop('tls_context'), 'Upstream')
    ts = c.get('transport_socket')
    if ts and 'typed_config' in ts:
        ts['typed_config'] = fix_any(ts['typed_config'], 'ts')
    for m in c.get('transport_socket_matches', []):
        t = m.get('transport_socket', {})
        if 'typed_config' in t:
            t['typed_config'] = fix_any(t['typed_config'], 'ts')


# ---- endpoints ----------------------------------------------------------

class Endpoints:
    def __init__(self):
        self.next = 1
        self.map = {}		# test address -> cluster

    def new(self, cluster, orig):
        a = str(ENDPOINT_NET.network_address + self.next)
        self.next += 1
        self.map[a] = {'cluster': cluster, 'was': orig}
        return {'endpoint': {'address': {'socket_address': {'address': a, 'port_value': ENDPOINT_PORT}}}}

    def rewrite(self, cla, cluster):
        for g in cla.get('endpoints', []):
            for i, e in enumerate(g.get('lb_endpoints', [])):
                sa = e.get('endpoint', {}).get('address', {}).get('socket_address')
                if not sa:
                    continue
                try:
                    ipaddress.ip_address(sa.get('address', ''))
                except ValueError:
                    note('endpoint hostname kept (DNS cluster)')
                    continue
                orig = '%s:%s' % (sa['address'], sa.get('port_value'))
                new = self.new(cluster, orig)
                e['endpoint']['address'] = new['endpoint']['address']
        note('endpoint addresses rewritten')


def resources(dump):
    out = {'clusters': [], 'listeners': [], 'routes': [], 'endpoints': [], 'node': None}
    for c in dump['configs']:
        t = c.get('@type', '')
        if t.endswith('BootstrapConfigDump'):
            out['node'] = c.get('bootstrap', {}).get('node')
        for x in c.get('dynamic_active_clusters', c.get('dynamicActiveClusters', [])):
            out['clusters'].append(x['cluster'])
        for x in c.get('dynamic_listeners', c.get('dynamicListeners', [])):
            st = x.get('active_state') or x.get('activeState')
            l = st['listener'] if st else x.get('listener')
            if l:
                out['listeners'].append(l)
        for x in c.get('dynamic_route_configs', c.get('dynamicRouteConfigs', [])):
            out['routes'].append(x['route_config'])
        for x in c.get('dynamic_endpoint_configs', []):
            out['endpoints'].append(x['endpoint_config'])
    return out


def named_clusters(listeners, routes):
    """Every cluster a tcp_proxy or route names."""
    names = set()

    def walk(o):
        if isinstance(o, dict):
            for k, v in o.items():
                if k == 'cluster' and isinstance(v, str):
                    names.add(v)
                elif k == 'weighted_clusters' and isinstance(v, dict):
                    for w in v.get('clusters', []):
                        names.add(w['name'])
                else:
                    walk(v)
        elif isinstance(o, list):
            for x in o:
                walk(x)
    walk(listeners)
    walk(routes)
    return names


def synth_cluster(name):
    """A cluster the dump lacks, as istiod makes it: its special clusters
    by name, any other as an EDS cluster."""
    if name in ('PassthroughCluster', 'InboundPassthroughClusterIpv4', 'InboundPassthroughClusterIpv6'):
        return {'@type': T + 'envoy.config.cluster.v3.Cluster', 'name': name, 'type': 'ORIGINAL_DST',
                'lb_policy': 'CLUSTER_PROVIDED', 'connect_timeout': '10s'}
    if name == 'BlackHoleCluster':
        return {'@type': T + 'envoy.config.cluster.v3.Cluster', 'name': name, 'type': 'STATIC',
                'connect_timeout': '10s'}
    return {'@type': T + 'envoy.config.cluster.v3.Cluster', 'name': name, 'type': 'EDS',
            'connect_timeout': '10s', 'eds_cluster_config': {'eds_config': {'ads': {}}}}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--name', required=True)
    ap.add_argument('--origin', required=True, help='REPO PATH COMMIT')
    ap.add_argument('dump')
    ap.add_argument('outdir')
    a = ap.parse_args()
    text = open(a.dump).read()
    if a.dump.endswith(('.yaml', '.yml')):
        import yaml
        dump = yaml.safe_load(text)
    else:
        dump = json.loads(text)
    r = resources(dump)
    for c in r['clusters']:
        c['@type'] = v3_type(c.get('@type', T + 'envoy.config.cluster.v3.Cluster'))
        fix_cluster(c)
    for l in r['listeners']:
        l['@type'] = v3_type(l.get('@type', T + 'envoy.config.listener.v3.Listener'))
        fix_listener(l)
    for rc in r['routes']:
        rc['@type'] = v3_type(rc.get('@type', T + 'envoy.config.route.v3.RouteConfiguration'))
        fix_route_config(rc)

    for x in r['clusters'] + r['listeners'] + r['routes']:
        fix_nested_anys(x)
    eps = Endpoints()
    have = {c['name'] for c in r['clusters']}
    synth_cds = sorted(named_clusters(r['listeners'], r['routes']) - have)
    for n in synth_cds:
        r['clusters'].append(synth_cluster(n))
    cla_by = {e['cluster_name']: e for e in r['endpoints']}
    eds, synth_eds = [], []
    for c in r['clusters']:
        if c.get('load_assignment'):
            eps.rewrite(c['load_assignment'], c['name'])
        if c.get('type') != 'EDS':
            continue
        svc = (c.get('eds_cluster_config') or {}).get('service_name') or c['name']
        cla = cla_by.get(svc)
        if cla:
            cla = json.loads(json.dumps(cla))
            cla['cluster_name'] = svc
            cla['@type'] = T + 'envoy.config.endpoint.v3.ClusterLoadAssignment'
            eps.rewrite(cla, c['name'])
        else:
            synth_eds.append(svc)
            cla = {'@type': T + 'envoy.config.endpoint.v3.ClusterLoadAssignment',
                   'cluster_name': svc, 'endpoints': [{'lb_endpoints': [eps.new(c['name'], None)]}]}
        eds.append(cla)

    # what the test dials must never be a test address
    for l in r['listeners']:
        sa = l.get('address', {}).get('socket_address', {})
        try:
            ip = ipaddress.ip_address(sa.get('address', ''))
        except ValueError:
            continue
        for n in TEST_NETS:
            if ip in n:
                sys.exit('%s: listener %s is in the test network %s' % (a.dump, l['name'], n))

    import os
    os.makedirs(a.outdir, exist_ok=True)

    def put(f, v):
        with open(os.path.join(a.outdir, f), 'w') as fh:
            json.dump(v, fh, indent=1, sort_keys=True)
            fh.write('\n')
    put('cds.json', r['clusters'])
    put('eds.json', eds)
    put('lds.json', r['listeners'])
    put('rds.json', r['routes'])
    node = r['node'] or {}
    md = node.get('metadata', {})
    repo, path, commit = a.origin.split()
    put('meta.json', {
        'name': a.name,
        'origin': {'repo': repo, 'path': path, 'commit': commit},
        'istio_version': md.get('ISTIO_VERSION', ''),
        'node_id': node.get('id', ''),
        'instance_ips': md.get('INSTANCE_IPS', ''),
        'counts': {'clusters': len(r['clusters']), 'listeners': len(r['listeners']),
                   'route_configs': len(r['routes']), 'cluster_load_assignments': len(eds)},
        'synthesized_clusters': synth_cds,
        'synthesized_eds': synth_eds,
        'endpoint_net': str(ENDPOINT_NET), 'endpoint_port': ENDPOINT_PORT,
        'endpoints': eps.map,
        'conversions': dict(sorted(notes.items())),
    })


if __name__ == '__main__':
    main()
