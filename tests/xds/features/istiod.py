#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""
Everyday Istio features as istiod pushes them to a sidecar (Istio 1.2x,
Envoy v3 JSON as tests/xds/server.js serves it), for tests/xds/features.sh.

    istiod.py SCENARIO OUTDIR     writes OUTDIR/{cds,eds,lds,rds}.json

The shapes follow istiod's output as istioctl proxy-config prints it
(cluster "outbound|PORT|SUBSET|HOST", port-wide 0.0.0.0_PORT listeners
with RDS "PORT" and sniffed HTTP chains, one virtual host per service
whose domains hold its names and ClusterIP, routes with istiod's retry
policy, timeout, decorator and metadata; a ServiceEntry's own listener
per address). The corpus (tests/xds/corpus) holds the same shapes from
real dumps; these add what the dumps lack: VirtualService matches and
weights, ServiceEntry resolutions, Sidecar scoping.

Backends (features.sh): b2..b5 = 10.92.0.2-5:8080. Service addresses:
10.91.x.y, which exist nowhere.
"""
import json
import os
import sys

NS = 'default'
T_HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager'
T_TCP = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy'
T_ROUTER = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router'
T_CLUSTER = 'type.googleapis.com/envoy.config.cluster.v3.Cluster'
T_LISTENER = 'type.googleapis.com/envoy.config.listener.v3.Listener'
BACKEND = {'b2': '10.92.0.2', 'b3': '10.92.0.3', 'b4': '10.92.0.4', 'b5': '10.92.0.5'}


def fqdn(svc, ns=NS):
    return '%s.%s.svc.cluster.local' % (svc, ns)


def cname(port, host, subset=''):
    return 'outbound|%d|%s|%s' % (port, subset, host)


def eds_cluster(name):
    """istiod's outbound EDS cluster (DestinationRule-less defaults)."""
    return {
        '@type': T_CLUSTER, 'name': name, 'type': 'EDS',
        'eds_cluster_config': {'eds_config': {'ads': {}, 'initial_fetch_timeout': '0s',
                                              'resource_api_version': 'V3'},
                               'service_name': name},
        'connect_timeout': '10s', 'lb_policy': 'LEAST_REQUEST',
        'circuit_breakers': {'thresholds': [{'max_connections': 4294967295,
                                             'max_pending_requests': 4294967295,
                                             'max_requests': 4294967295,
                                             'max_retries': 4294967295,
                                             'track_remaining': True}]},
        'common_lb_config': {},
        'metadata': {'filter_metadata': {'istio': {'services': [
            {'host': name.split('|')[3], 'name': name.split('|')[3].split('.')[0],
             'namespace': NS}]}}},
    }


def dns_cluster(name, host, port):
    """A ServiceEntry with resolution: DNS: STRICT_DNS on the host name."""
    c = eds_cluster(name)
    del c['eds_cluster_config']
    c.update({'type': 'STRICT_DNS', 'dns_lookup_family': 'V4_ONLY', 'dns_refresh_rate': '60s',
              'respect_dns_ttl': True, 'lb_policy': 'LEAST_REQUEST',
              'load_assignment': {'cluster_name': name, 'endpoints': [{'lb_endpoints': [
                  {'endpoint': {'address': {'socket_address': {'address': host,
                                                               'port_value': port}}},
                   'load_balancing_weight': 1}]}]}})
    return c


def cla(name, *backends):
    return {'cluster_name': name, 'endpoints': [{
        'locality': {}, 'load_balancing_weight': 1,
        'lb_endpoints': [{'endpoint': {'address': {'socket_address': {
            'address': BACKEND[b], 'port_value': 8080}}},
            'health_status': 'HEALTHY', 'load_balancing_weight': 1} for b in backends]}]}


def special_clusters():
    return [{'@type': T_CLUSTER, 'name': 'BlackHoleCluster', 'type': 'STATIC', 'connect_timeout': '10s'},
            {'@type': T_CLUSTER, 'name': 'PassthroughCluster', 'type': 'ORIGINAL_DST',
             'connect_timeout': '10s', 'lb_policy': 'CLUSTER_PROVIDED',
             'circuit_breakers': {'thresholds': [{'max_connections': 4294967295}]}}]


def router():
    return {'name': 'envoy.filters.http.router', 'typed_config': {'@type': T_ROUTER}}


def hcm(port):
    return {'name': 'envoy.filters.network.http_connection_manager', 'typed_config': {
        '@type': T_HCM, 'stat_prefix': 'outbound_0.0.0.0_%d' % port,
        'rds': {'config_source': {'ads': {}, 'initial_fetch_timeout': '0s',
                                  'resource_api_version': 'V3'},
                'route_config_name': str(port)},
        'http_filters': [router()], 'use_remote_address': False, 'normalize_path': True,
        'upgrade_configs': [{'upgrade_type': 'websocket'}],
        'stream_idle_timeout': '0s'}}


def tcp_proxy(cluster, stat):
    return {'name': 'envoy.filters.network.tcp_proxy', 'typed_config': {
        '@type': T_TCP, 'stat_prefix': stat, 'cluster': cluster}}


def port_wide(port):
    """0.0.0.0_PORT: sniffed HTTP chain to RDS "PORT", TCP side to the
    passthrough (allow_any)."""
    return {'@type': T_LISTENER, 'name': '0.0.0.0_%d' % port,
            'address': {'socket_address': {'address': '0.0.0.0', 'port_value': port}},
            'traffic_direction': 'OUTBOUND', 'bind_to_port': False,
            'filter_chains': [{'filter_chain_match': {'transport_protocol': 'raw_buffer',
                                                      'application_protocols': ['http/1.1', 'h2c']},
                               'filters': [hcm(port)]}],
            'default_filter_chain': {'filters': [tcp_proxy('PassthroughCluster', 'PassthroughCluster')]},
            'listener_filters': [{'name': 'envoy.filters.listener.http_inspector',
                                  'typed_config': {'@type': 'type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector'}}]}


def tcp_listener(vip, port, cluster):
    """A TCP service's (or a ServiceEntry address's) own listener."""
    return {'@type': T_LISTENER, 'name': '%s_%d' % (vip, port),
            'address': {'socket_address': {'address': vip, 'port_value': port}},
            'traffic_direction': 'OUTBOUND', 'bind_to_port': False,
            'filter_chains': [{'filters': [tcp_proxy(cluster, cluster)]}]}


def domains(names, vip, port):
    out = []
    for n in names + ([vip] if vip else []):
        out += [n, '%s:%d' % (n, port)]
    return out


def route(match, action, vs=None):
    r = {'match': dict(match), 'route': dict(action), 'decorator': {'operation': 'x'}}
    r['match'].setdefault('case_sensitive', True)
    r['route'].update({'timeout': '0s', 'max_stream_duration': {
        'max_stream_duration': '0s', 'grpc_timeout_header_max': '0s'},
        'retry_policy': {'retry_on': 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes',
                         'num_retries': 2, 'retry_host_predicate': [
                             {'name': 'envoy.retry_host_predicates.previous_hosts',
                              'typed_config': {'@type': 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate'}}],
                         'host_selection_retry_max_attempts': '5',
                         'retriable_status_codes': [503]}})
    if vs:
        r['metadata'] = {'filter_metadata': {'istio': {
            'config': '/apis/networking.istio.io/v1/namespaces/%s/virtual-service/%s' % (NS, vs)}}}
    return r


def default_vhost(svc, vip, port, ns=NS):
    host = fqdn(svc, ns)
    return {'name': '%s:%d' % (host, port),
            'domains': domains([host, svc, '%s.%s' % (svc, ns)], vip, port),
            'routes': [route({'prefix': '/'}, {'cluster': cname(port, host)})],
            'include_request_attempt_count': True}


def allow_any():
    return {'name': 'allow_any', 'domains': ['*'], 'include_request_attempt_count': True,
            'routes': [{'name': 'allow_any', 'match': {'prefix': '/'},
                        'route': {'cluster': 'PassthroughCluster', 'timeout': '0s',
                                  'max_stream_duration': {'max_stream_duration': '0s',
                                                          'grpc_timeout_header_max': '0s'}}}]}


def route_config(port, vhosts):
    return {'name': str(port), 'virtual_hosts': vhosts + [allow_any()],
            'validate_clusters': False, 'ignore_port_in_host_matching': True}


# ---- scenarios --------------------------------------------------------------

REVIEWS = fqdn('reviews')


def reviews_vs(regex=False):
    """VirtualService reviews (port 9080), every match kind istiod emits,
    in its order, then weights on the default route."""
    sub = lambda s: {'cluster': cname(9080, REVIEWS, s)}
    rs = [
        route({'prefix': '/', 'headers': [{'name': 'end-user', 'string_match': {'exact': 'jason'}}]},
              sub('v2'), 'reviews'),						# headers exact
        route({'prefix': '/api/v3', 'case_sensitive': False}, sub('v3'), 'reviews'),	# uri prefix, ignoreUriCase
        route({'path': '/health'}, sub('v1'), 'reviews'),			# uri exact
        route({'prefix': '/', 'query_parameters': [{'name': 'version',
                                                    'string_match': {'exact': '2'}}]},
              sub('v3'), 'reviews'),						# queryParams exact
        route({'prefix': '/', 'headers': [{'name': 'x-canary', 'present_match': True}]},
              sub('v3'), 'reviews'),						# headers present ({})
        route({'prefix': '/', 'headers': [{'name': 'user-agent',
                                           'string_match': {'prefix': 'curl/'}}]},
              sub('v3'), 'reviews'),						# headers prefix
    ]
    if regex:	# uri regex -> safe_regex (not supported: that route config is refused)
        rs.insert(0, route({'safe_regex': {'regex': '^/items/[0-9]+$'}}, sub('v2'), 'reviews'))
    rs.append(route({'prefix': '/'}, {'weighted_clusters': {'clusters': [
        {'name': cname(9080, REVIEWS, 'v1'), 'weight': 90},
        {'name': cname(9080, REVIEWS, 'v2'), 'weight': 10}]}}, 'reviews'))	# weights
    vh = default_vhost('reviews', '10.91.1.1', 9080)
    vh['routes'] = rs
    return vh


def reviews_clusters():
    return [eds_cluster(cname(9080, REVIEWS))] + \
        [eds_cluster(cname(9080, REVIEWS, s)) for s in ('v1', 'v2', 'v3')]


def reviews_eds():
    return [cla(cname(9080, REVIEWS), 'b2', 'b3', 'b4'), cla(cname(9080, REVIEWS, 'v1'), 'b2'),
            cla(cname(9080, REVIEWS, 'v2'), 'b3'), cla(cname(9080, REVIEWS, 'v3'), 'b4')]


def ratings():
    """the unrelated service: ratings, HTTP 9080 (10.91.1.2 -> b5), and
    mongodb, TCP 27017 (10.91.1.5 -> b5)"""
    r, m = cname(9080, fqdn('ratings')), cname(27017, fqdn('mongodb'))
    return ([eds_cluster(r), eds_cluster(m)], [cla(r, 'b5'), cla(m, 'b5')],
            [tcp_listener('10.91.1.5', 27017, m)], default_vhost('ratings', '10.91.1.2', 9080))


def scenario_vs(regex):
    rc, re_, rl, rvh = ratings()
    d = {'cds': special_clusters() + reviews_clusters() + rc,
         'eds': reviews_eds() + re_,
         'lds': [port_wide(9080)] + rl,
         'rds': [route_config(9080, [reviews_vs(regex), rvh])]}
    if regex:
        # details on port 8080 (10.91.1.3 -> b2), new in the same push
        det = cname(8080, fqdn('details'))
        d['cds'].append(eds_cluster(det))
        d['eds'].append(cla(det, 'b2'))
        d['lds'].append(port_wide(8080))
        d['rds'].append(route_config(8080, [default_vhost('details', '10.91.1.3', 8080)]))
    return d


def scenario_se():
    """ServiceEntries: db.external.test, TCP 5432, addresses 10.91.2.1,
    resolution STATIC, endpoint b4; api.external.test, HTTP 80, addresses
    10.91.2.2, resolution DNS (the name resolved by kmeshd: features.sh
    serves it from its DNS stub as b3)."""
    rc, re_, rl, rvh = ratings()
    db, api = cname(5432, 'db.external.test'), cname(80, 'api.external.test')
    api_vh = {'name': 'api.external.test:80', 'domains': domains(['api.external.test'], '10.91.2.2', 80),
              'routes': [route({'prefix': '/'}, {'cluster': api})], 'include_request_attempt_count': True}
    return {'cds': special_clusters() + [eds_cluster(db), dns_cluster(api, 'api.external.test', 8080)] + rc,
            'eds': [cla(db, 'b4')] + re_,
            'lds': [tcp_listener('10.91.2.1', 5432, db), port_wide(80), port_wide(9080)] + rl,
            'rds': [route_config(80, [api_vh]), route_config(9080, [rvh])]}


def scenario_sidecar(scoped):
    """Sidecar egress scoping. Unscoped, this node sees default's services
    and namespace other's: search (HTTP 9080, 10.91.3.2 -> b2) and cache
    (TCP 6379, 10.91.3.1 -> b3). A Sidecar with egress hosts ["./*",
    "istio-system/*"] in default: istiod drops other's clusters, listeners
    and virtual hosts from what it pushes."""
    rc, re_, rl, rvh = ratings()
    d = {'cds': special_clusters() + rc, 'eds': re_, 'lds': [port_wide(9080)] + rl,
         'rds': [route_config(9080, [rvh])]}
    if not scoped:
        s, c = cname(9080, fqdn('search', 'other')), cname(6379, fqdn('cache', 'other'))
        d['cds'] += [eds_cluster(s), eds_cluster(c)]
        d['eds'] += [cla(s, 'b2'), cla(c, 'b3')]
        d['lds'].append(tcp_listener('10.91.3.1', 6379, c))
        d['rds'] = [route_config(9080, [rvh, default_vhost('search', '10.91.3.2', 9080, 'other')])]
    return d


SCENARIOS = {
    'vs': lambda: scenario_vs(False),
    'vs-regex': lambda: scenario_vs(True),
    'se': scenario_se,
    'sidecar-all': lambda: scenario_sidecar(False),
    'sidecar-scoped': lambda: scenario_sidecar(True),
}


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in SCENARIOS:
        sys.exit('usage: istiod.py {%s} OUTDIR' % ','.join(SCENARIOS))
    d = SCENARIOS[sys.argv[1]]()
    os.makedirs(sys.argv[2], exist_ok=True)
    for t in ('cds', 'eds', 'lds', 'rds'):
        with open(os.path.join(sys.argv[2], t + '.json'), 'w') as f:
            json.dump(d[t], f, indent=1)


if __name__ == '__main__':
    main()
