#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""
Generate userspace/source/xds/xds_fields.c: for every field of the xDS
messages kmesh reads, the class it is in (issue 12, "no silent drops"):

  E  enforced: a reader turns it into what kmesh does (messages: walked)
  X  done by kmesh's own means, nothing to list (the original destination,
     protocol sniffing, listener binding: the connect hook is all of them)
  N  accepted but not enforced, listed by kind: only what is safe to
     degrade (timeouts, retries, telemetry, ...), never anything that
     grants or denies access
  R  refused: the resource is NACKed naming the field and why

A field of a listed message that SPEC does not name is refused ("not
supported"), so a field a newer Envoy API adds is never dropped silently.
Field names and numbers come from Envoy's protos (the copy the xDS test
control plane bundles, build/xds-node after tests/xds/npm-install.sh):

    scripts/gen-xds-fields.py > userspace/source/xds/xds_fields.c

A reader that starts enforcing a field moves it to E here.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
API = os.path.join(ROOT, 'build/xds-node/node_modules/@grpc/grpc-js-xds/deps/envoy-api')
FILES = [
    'envoy/config/cluster/v3/cluster.proto',
    'envoy/config/cluster/v3/circuit_breaker.proto',
    'envoy/config/endpoint/v3/endpoint.proto',
    'envoy/config/endpoint/v3/endpoint_components.proto',
    'envoy/config/listener/v3/listener.proto',
    'envoy/config/listener/v3/listener_components.proto',
    'envoy/config/route/v3/route.proto',
    'envoy/config/route/v3/route_components.proto',
    'envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto',
    'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
]

# kinds of "accepted but not enforced" (enum km_notenf_kind, model/notenf.h);
# the readers' own list (model/not_enforced.c) is apart
KINDS = ['timeouts', 'retries', 'telemetry', 'connection', 'health', 'lb_options',
         'headers', 'rewrites', 'cors', 'fault_injection', 'mirroring', 'metadata',
         'dns', 'inbound', 'mtls', 'registry_only']

T, RT, CX, TEL, HE, LB, HD, RW, MD = ('N:timeouts', 'N:retries', 'N:connection', 'N:telemetry',
                                     'N:health', 'N:lb_options', 'N:headers', 'N:rewrites',
                                     'N:metadata')
# headers to add or remove: the readers list them (header_rewrites)
HEADERS = {f: 'E' for f in ('request_headers_to_add', 'request_headers_to_remove',
                            'response_headers_to_add', 'response_headers_to_remove')}

SPEC = {
    'envoy.config.cluster.v3.Cluster': {
        'name': 'E', 'type': 'E', 'cluster_type': 'E', 'eds_cluster_config': 'E',
        'lb_policy': 'E', 'load_assignment': 'E',
        # E: read, and listed when degraded, by the readers themselves
        # (model/not_enforced.c, traffic-policy.md)
        'circuit_breakers': 'E', 'connect_timeout': 'E', 'outlier_detection': 'E',
        'common_lb_config': 'E', 'least_request_lb_config': 'E',
        # transport_socket, transport_socket_matches: by content (xds_audit.c)
        'transport_socket': 'E', 'transport_socket_matches': 'E',
        'per_connection_buffer_limit_bytes': CX,
        'health_checks': HE, 'max_requests_per_connection': CX,
        'http_protocol_options': CX, 'http2_protocol_options': CX,
        'common_http_protocol_options': CX, 'upstream_http_protocol_options': CX,
        'typed_extension_protocol_options': CX, 'protocol_selection': CX,
        'dns_refresh_rate': 'N:dns', 'dns_lookup_family': 'N:dns', 'dns_resolvers': 'N:dns',
        'respect_dns_ttl': 'N:dns', 'dns_failure_refresh_rate': 'N:dns',
        'use_tcp_for_dns_lookups': 'N:dns', 'dns_resolution_config': 'N:dns',
        'typed_dns_resolver_config': 'N:dns',
        'cleanup_interval': CX,
        'upstream_bind_config': CX, 'upstream_connection_options': CX,
        'close_connections_on_host_health_failure': HE, 'ignore_health_on_host_removal': HE,
        'round_robin_lb_config': LB,
        'original_dst_lb_config': LB,
        'metadata': MD, 'alt_stat_name': TEL, 'track_timeout_budgets': TEL,
        'track_cluster_stats': TEL, 'lrs_server': TEL, 'lrs_report_endpoint_metrics': TEL,
        # Istio: the upstream side of metadata exchange
        'filters': TEL,
        'preconnect_policy': CX, 'connection_pool_per_downstream_connection': CX,
        'wait_for_warm_on_init': CX,
        'lb_subset_config': 'R:subset load balancing selects endpoints by metadata, kmesh cannot',
        'ring_hash_lb_config': 'E', 'maglev_lb_config': 'E',
        'load_balancing_policy': 'R:load_balancing_policy is not supported (lb_policy only)',
        'upstream_config': 'R:upstream_config is not supported',
    },
    'envoy.config.cluster.v3.Cluster.EdsClusterConfig': {'eds_config': 'X', 'service_name': 'E'},
    'envoy.config.endpoint.v3.ClusterLoadAssignment': {
        'cluster_name': 'E', 'endpoints': 'E', 'named_endpoints': 'R:named_endpoints is not supported',
        'policy': LB,
    },
    'envoy.config.endpoint.v3.LocalityLbEndpoints': {
        'locality': 'E', 'lb_endpoints': 'E', 'load_balancing_weight': 'E', 'priority': 'E',
        'proximity': LB, 'metadata': MD, 'leds_cluster_locality_config': 'R:LEDS is not supported',
        'load_balancer_endpoints': 'R:load_balancer_endpoints is not supported (lb_endpoints)',
    },
    'envoy.config.endpoint.v3.LbEndpoint': {
        'endpoint': 'E', 'health_status': 'E', 'load_balancing_weight': 'E', 'metadata': MD,
        'endpoint_name': 'R:named endpoints are not supported',
    },
    'envoy.config.endpoint.v3.Endpoint': {
        'address': 'E', 'hostname': 'E', 'health_check_config': HE,
        'additional_addresses': CX,
    },
    'envoy.config.listener.v3.Listener': {
        'name': 'E', 'address': 'E', 'additional_addresses': 'E', 'filter_chains': 'E',
        'default_filter_chain': 'E', 'traffic_direction': 'E',
        # by direction (xds_audit.c)
        'filter_chain_matcher': 'E',
        'use_original_dst': 'X', 'listener_filters': 'X', 'bind_to_port': 'X',
        'transparent': 'X', 'freebind': 'X', 'deprecated_v1': 'X',
        'listener_filters_timeout': T, 'continue_on_listener_filters_timeout': T,
        'metadata': MD, 'drain_type': CX, 'socket_options': CX,
        'per_connection_buffer_limit_bytes': CX, 'tcp_fast_open_queue_length': CX,
        'connection_balance_config': CX, 'tcp_backlog_size': CX, 'enable_reuse_port': CX,
        'reuse_port': CX, 'enable_mptcp': CX, 'ignore_global_conn_limit': CX,
        'max_connections_to_accept_per_socket_event': CX, 'bypass_overload_manager': CX,
        'internal_listener': 'R:internal listeners (envoy_internal_address) are not supported',
        'stat_prefix': TEL, 'access_log': TEL,
    },
    'envoy.config.listener.v3.FilterChain': {
        'filter_chain_match': 'E', 'filters': 'E', 'transport_socket': 'E', 'name': 'E',
        'metadata': MD, 'transport_socket_connect_timeout': T,
        'filter_chain_info': 'X', 'use_proxy_proto': 'R:proxy protocol is not supported',
        'on_demand_configuration': 'R:on-demand filter chains are not supported',
    },
    'envoy.config.listener.v3.Filter': {'name': 'E', 'typed_config': 'E',
                                        'config_discovery': 'R:filter config discovery (ECDS) is not supported'},
    'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy': {
        'stat_prefix': TEL, 'cluster': 'E', 'weighted_clusters': 'E', 'tunneling_config': 'E',
        'access_log': TEL, 'access_log_flush_interval': TEL, 'flush_access_log_on_connected': TEL,
        'access_log_options': TEL,
        'idle_timeout': 'E', 'downstream_idle_timeout': T, 'upstream_idle_timeout': T,
        'max_connect_attempts': RT, 'max_downstream_connection_duration': T,
        'metadata_match': 'R:metadata_match (subset load balancing) is not supported',
        'hash_policy': 'E', 'on_demand': 'R:on-demand clusters are not supported',
        'backoff_options': RT,
    },
    'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy.WeightedCluster': {'clusters': 'E'},
    'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy.WeightedCluster.ClusterWeight': {
        'name': 'E', 'weight': 'E',
        'metadata_match': 'R:metadata_match (subset load balancing) is not supported'},
    'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager': {
        'stat_prefix': TEL, 'rds': 'E', 'route_config': 'E', 'scoped_routes': 'E',
        'http_filters': 'E', 'codec_type': 'X', 'tracing': TEL, 'access_log': TEL,
        'access_log_flush_interval': TEL, 'flush_access_log_on_new_request': TEL,
        'access_log_options': TEL, 'generate_request_id': TEL, 'request_id_extension': TEL,
        'preserve_external_request_id': TEL, 'always_set_request_id_in_response': TEL,
        'add_user_agent': HD, 'server_name': HD, 'server_header_transformation': HD,
        'scheme_header_transformation': HD, 'via': HD, 'forward_client_cert_details': HD,
        'set_current_client_cert_details': HD, 'use_remote_address': HD,
        'xff_num_trusted_hops': HD, 'original_ip_detection_extensions': HD,
        'skip_xff_append': HD, 'internal_address_config': HD, 'early_header_mutation_extensions': HD,
        'strip_matching_host_port': 'E', 'strip_any_host_port': 'E',
        'normalize_path': RW, 'merge_slashes': RW, 'path_with_escaped_slashes_action': RW,
        'path_normalization_options': RW,
        'stream_idle_timeout': T, 'request_timeout': T, 'request_headers_timeout': T,
        'drain_timeout': T, 'delayed_close_timeout': T, 'max_request_headers_kb': CX,
        'common_http_protocol_options': CX, 'http_protocol_options': CX,
        'http2_protocol_options': CX, 'http3_protocol_options': CX,
        'upgrade_configs': CX, 'stream_error_on_invalid_http_message': CX,
        'local_reply_config': HD, 'proxy_100_continue': CX, 'represent_ipv4_remote_address_as_ipv4_mapped_ipv6': HD,
        'append_x_forwarded_port': HD, 'append_local_overload': HD,
        'add_proxy_protocol_connection_state': CX, 'proxy_status_config': HD,
        'typed_header_validation_config': 'R:header validation is not supported',
        'strip_trailing_host_dot': 'E',
    },
    'envoy.extensions.filters.network.http_connection_manager.v3.Rds': {
        'route_config_name': 'E', 'config_source': 'X'},
    'envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter': {
        # by type (xds_audit.c)
        'name': 'E', 'typed_config': 'E', 'config_discovery': 'R:filter config discovery (ECDS) is not supported',
        'is_optional': 'E', 'disabled': 'E'},
    'envoy.config.route.v3.RouteConfiguration': dict(HEADERS, **{
        'name': 'E', 'virtual_hosts': 'E', 'vhds': 'E', 'validate_clusters': 'X',
        'internal_only_headers': HD, 'most_specific_header_mutations_wins': HD,
        'max_direct_response_body_size_bytes': 'E', 'ignore_port_in_host_matching': 'E',
        'typed_per_filter_config': 'N:telemetry', 'request_mirror_policies': 'N:mirroring',
        'cluster_specifier_plugins': 'R:cluster_specifier_plugins are not supported',
        'metadata': MD,
    }),
    'envoy.config.route.v3.VirtualHost': dict(HEADERS, **{
        'name': 'E', 'domains': 'E', 'routes': 'E',
        'require_tls': 'R:require_tls (redirect or refuse plaintext) is not supported',
        'virtual_clusters': TEL, 'rate_limits': 'R:rate limits deny requests, kmesh cannot enforce them',
        'cors': 'N:cors', 'typed_per_filter_config': 'N:telemetry',
        'include_request_attempt_count': RT, 'include_attempt_count_in_response': RT,
        'retry_policy': 'E', 'retry_policy_typed_config': RT, 'hedge_policy': 'E',
        'per_request_buffer_limit_bytes': CX, 'request_mirror_policies': 'N:mirroring',
        'matcher': 'R:the matcher API for routes is not supported', 'metadata': MD,
        'include_is_timeout_retry_header': RT,
    }),
    'envoy.config.route.v3.Route': dict(HEADERS, **{
        'name': 'E', 'match': 'E', 'route': 'E', 'redirect': 'E', 'direct_response': 'E',
        'filter_action': 'E', 'non_forwarding_action': 'E',
        'metadata': MD, 'decorator': TEL, 'typed_per_filter_config': 'N:telemetry',
        'tracing': TEL, 'per_request_buffer_limit_bytes': CX, 'stat_prefix': TEL,
    }),
    'envoy.config.route.v3.RouteAction': {
        'cluster': 'E', 'cluster_header': 'E', 'weighted_clusters': 'E',
        'cluster_specifier_plugin': 'E', 'inline_cluster_specifier_plugin': 'E',
        'cluster_not_found_response_code': 'E',
        'metadata_match': 'R:metadata_match (subset load balancing) is not supported',
        'prefix_rewrite': 'E', 'regex_rewrite': 'E', 'path_rewrite_policy': RW,
        'host_rewrite_literal': 'E', 'auto_host_rewrite': 'E', 'host_rewrite_header': 'E',
        'host_rewrite_path_regex': 'E', 'append_x_forwarded_host': HD,
        'timeout': 'E', 'idle_timeout': 'E', 'max_grpc_timeout': T, 'grpc_timeout_offset': T,
        'max_stream_duration': T, 'early_data_policy': CX,
        'retry_policy': 'E', 'retry_policy_typed_config': RT, 'hedge_policy': RT,
        'request_mirror_policies': 'E', 'priority': 'X',
        'rate_limits': 'R:rate limits deny requests, kmesh cannot enforce them',
        'include_vh_rate_limits': 'X', 'hash_policy': 'E', 'cors': 'N:cors',
        'upgrade_configs': CX, 'internal_redirect_policy': 'N:rewrites',
        'internal_redirect_action': 'N:rewrites', 'max_internal_redirects': 'N:rewrites',
    },
    'envoy.config.route.v3.WeightedCluster': {
        'clusters': 'E', 'total_weight': 'E', 'runtime_key_prefix': 'X', 'header_name': 'E',
        'random_value_specifier': 'E'},
    'envoy.config.route.v3.WeightedCluster.ClusterWeight': dict({f: HD for f in HEADERS}, **{
        'name': 'E', 'cluster_header': 'E', 'weight': 'E',
        'metadata_match': 'R:metadata_match (subset load balancing) is not supported',
        'typed_per_filter_config': 'N:telemetry', 'host_rewrite_literal': RW}),
}
# the readers check these whole themselves (x_no_unknown_fields), or they
# are the readers' own (redirects, direct responses, matchers)
UNWALKED = set()


def parse(path):
    src = open(path).read()
    src = re.sub(r'//[^\n]*', '', src)
    src = re.sub(r'/\*.*?\*/', '', src, flags=re.S)
    pkg = re.search(r'package\s+([\w.]+);', src).group(1)
    out, stack = {}, []
    for m in re.finditer(r'(message|enum|oneof)\s+(\w+)\s*\{|(\{)|(\})|((?:repeated\s+|optional\s+)?'
                         r'(?:map<[^>]+>|[\w.]+)\s+(\w+)\s*=\s*(\d+)\s*(?:\[[^\]]*\])?\s*;)', src):
        if m.group(1):
            stack.append((m.group(1), m.group(2)))
        elif m.group(3):
            stack.append(('block', ''))
        elif m.group(4):
            if stack:
                stack.pop()
        elif m.group(5):
            msgs = [n for k, n in stack if k == 'message']
            if not msgs or stack[-1][0] == 'enum':
                continue
            out.setdefault(pkg + '.' + '.'.join(msgs), []).append((int(m.group(7)), m.group(6)))
    return out


def c_str(s):
    return '"%s"' % s.replace('\\', '\\\\').replace('"', '\\"')


def main():
    msgs = {}
    for f in FILES:
        msgs.update(parse(os.path.join(API, f)))
    rows = []
    for name in sorted(SPEC):
        if name not in msgs:
            sys.exit('gen-xds-fields: %s is not in the protos' % name)
        fields = dict((n, t) for t, n in msgs[name])
        for f in SPEC[name]:
            if f not in fields:	# newer than this copy of the protos
                print('gen-xds-fields: note: %s has no field %s here' % (name, f), file=sys.stderr)
        for tag, f in sorted(msgs[name]):
            cls = SPEC[name].get(f, 'R:not supported')
            c, _, arg = cls.partition(':')
            kind = 'KM_NK_%s' % arg.upper() if c == 'N' else '0'
            why = c_str(arg) if c == 'R' else 'NULL'
            rows.append('\t{ %s, %d, %s, X_%s, %s, %s },' % (c_str(name), tag, c_str(f), c, kind, why))
    print('// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)')
    print('/* Generated by scripts/gen-xds-fields.py from Envoy\'s protos: do not edit.')
    print(' * Every field of the xDS messages kmesh reads and its class (xds_audit.c). */')
    print('#include "xds_audit.h"\n')
    print('const struct x_field_rule x_field_rules[] = {')
    print('\n'.join(rows))
    print('};\n')
    print('const size_t x_n_field_rules = sizeof(x_field_rules) / sizeof(x_field_rules[0]);')


if __name__ == '__main__':
    main()
