#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""
The corpus's HTTP destinations for the VM (tests/vm/cases/80-l7-routes.sh),
where kmesh.ko routes them by Host and path: the VM has no node or
python, so each entry becomes a static config (kmesh's YAML) and a list of
requests with the backend the oracle's cluster leads to.

    vm_http.py DATA_DIR OUT_DIR [PER_ENTRY]

For each entry of DATA_DIR with HTTP destinations the oracle routes to
one cluster, OUT_DIR gets:
  ENTRY.yaml    the HTTP listeners of the sampled destinations, each with
                the chain the oracle took and its route config inline (as
                RDS delivered it), every virtual host and route of it; the
                clusters those routes name, each with one endpoint
                127.0.0.1:PORT, PORT unique over all entries;
  ENTRY.checks  one request a line: ADDR:PORT HOST PATH BACKEND ID (the
                corpus's HTTP destinations carry no headers);
and OUT_DIR/backends lists "NAME PORT" for the sampled clusters' backends
(km_testsrv --name NAME answers on 127.0.0.1:PORT).

A sample, not every destination: under TCG (and on the debug kernel)
every request costs a deferred connect and a reroute. PER_ENTRY (default
6) destinations per entry, each to a different cluster, over as many
listeners as there are, Host as the dump names the service, with the port
and by its short name in turn. Only routing fields are kept (match, cluster,
weighted_clusters); what kmesh accepts without enforcing (retries,
timeouts, ...) is dropped, and ORIGINAL_DST clusters (not in kmesh's
YAML) get an endpoint like the others: the host's corpus test (corpus.sh)
serves the full responses over xDS, passthrough included.

A port-wide listener (0.0.0.0_PORT) is dialed on the first ClusterIP its
route config's domains name: kmesh.ko matches the port's whole route
table by Host, as Envoy does, whatever VIP of the port was dialed.
"""
import ipaddress
import json
import os
import sys

PORT0 = 20000


def load(d, f):
    with open(os.path.join(d, f)) as fh:
        return json.load(fh)


def strip_match(m):
    keep = ('prefix', 'path', 'safe_regex', 'path_separated_prefix', 'case_sensitive',
            'headers', 'query_parameters')
    out = {k: v for k, v in m.items() if k in keep}
    if 'safe_regex' in out:
        out['safe_regex'] = {'regex': out['safe_regex']['regex']}
    return out


def strip_action(a):
    if 'cluster' in a:
        return {'cluster': a['cluster']}
    wc = a['weighted_clusters']
    out = {'clusters': [{'name': c['name'], 'weight': c.get('weight', 0)} for c in wc['clusters']]}
    if 'total_weight' in wc:
        out['total_weight'] = wc['total_weight']
    return {'weighted_clusters': out}


def strip_rc(rc):
    """The route config's routing, or None when a route is not a forward
    (redirect, direct_response: not in kmesh's YAML yet)."""
    vhs = []
    for vh in rc.get('virtual_hosts', []):
        routes = []
        for r in vh.get('routes', []):
            if 'route' not in r:
                return None
            a = r['route']
            if 'cluster' not in a and 'weighted_clusters' not in a:
                return None
            routes.append({'match': strip_match(r['match']), 'route': strip_action(a)})
        vhs.append({'name': vh['name'], 'domains': vh['domains'], 'routes': routes})
    return {'name': rc.get('name', 'inline'), 'virtual_hosts': vhs}


def clusters_of(rc):
    for vh in rc['virtual_hosts']:
        for r in vh['routes']:
            a = r['route']
            if 'cluster' in a:
                yield a['cluster']
            else:
                for c in a['weighted_clusters']['clusters']:
                    yield c['name']


def vip_of(rc, port, v6):
    for vh in rc['virtual_hosts']:
        for d in vh['domains']:
            host, _, p = d.rpartition(':') if d.count(':') == 1 else (d, '', '')
            if p and p != str(port):
                continue
            try:
                ip = ipaddress.ip_address(host or d)
            except ValueError:
                continue
            if (ip.version == 6) == v6:
                return str(ip)
    return None


def hcm_of(chain):
    for f in chain.get('filters', []):
        tc = f.get('typed_config', {})
        if 'rds' in tc or 'route_config' in tc:
            return tc
    return None


def entry(d, per_entry, port):
    meta, oracle = load(d, 'meta.json'), load(d, 'oracle.json')
    lds = {l['name']: l for l in load(d, 'lds.json')}
    rds = {r['name']: r for r in load(d, 'rds.json')}
    cds = {c['name']: c for c in load(d, 'cds.json')}
    listeners, used_clusters, checks, backends = {}, {}, [], []
    # round robin over listeners, a new cluster each time
    by_listener = {}
    for dst in oracle['http']:
        e = dst['expect']
        if e['kind'] != 'cluster' or len(e['clusters']) != 1 or dst.get('headers'):
            continue
        by_listener.setdefault(dst['listener'], []).append(dst)
    picked, seen = [], set()
    while len(picked) < per_entry and any(by_listener.values()):
        for ln in sorted(by_listener):
            lst = by_listener[ln]
            lst[:] = [x for x in lst if x['expect']['clusters'][0][0] not in seen]
            if lst and len(picked) < per_entry:
                # Host forms in turn: the name as given, with the port,
                # the short name (no dot)
                form = len(picked) % 3
                pref = [x for x in lst if (form == 1) == (':' in x['host']) and
                        (form != 2 or '.' not in x['host'].split(':')[0])]
                dst = (pref or lst)[0]
                lst.remove(dst)
                picked.append(dst)
                seen.add(dst['expect']['clusters'][0][0])
    for dst in picked:
        ln = dst['listener']
        l = lds[ln]
        chain_i = int(dst['why'].split(' chain ')[1].split(';')[0])
        chains = l.get('filter_chains', [])
        chain = chains[chain_i] if chain_i < len(chains) else l.get('default_filter_chain')
        tc = hcm_of(chain)
        if not tc:
            continue
        rc = rds.get(tc['rds']['route_config_name']) if 'rds' in tc else tc['route_config']
        rc = strip_rc(rc) if rc else None
        if rc is None:
            continue
        sa = l['address']['socket_address']
        v6 = ':' in sa['address']
        if sa['address'] in ('0.0.0.0', '::'):
            vip = vip_of(rc, sa['port_value'], v6)
            if not vip:
                continue
        else:
            vip = sa['address']
        listeners[ln] = {'name': ln, 'address': {'socket_address': {
            'address': sa['address'], 'port_value': sa['port_value']}},
            'filter_chains': [{'filters': [{
                'name': 'envoy.filters.network.http_connection_manager',
                'typed_config': {'stat_prefix': ln, 'route_config': rc}}]}]}
        cl = dst['expect']['clusters'][0][0]
        name = 'c%d' % port
        used_clusters[cl] = port
        backends.append((name, port))
        port += 1
        addr = '[%s]' % vip if v6 else vip
        checks.append('%s:%d %s %s %s %s' % (addr, sa['port_value'], dst['host'], dst['path'], name,
                                            dst['id'].replace(' ', '_')))
    clusters, emitted = [], set()
    for ln in listeners:
        rc = listeners[ln]['filter_chains'][0]['filters'][0]['typed_config']['route_config']
        for c in clusters_of(rc):
            if c in emitted:
                continue
            emitted.add(c)
            if c not in used_clusters:
                used_clusters[c] = port
                port += 1
            # every cluster with an endpoint of its own, ORIGINAL_DST ones
            # too (kmesh's YAML has no ORIGINAL_DST; no sampled request
            # goes to one); nothing answers on the unsampled ones' ports
            clusters.append({'name': c, 'load_assignment': {'endpoints': [{'lb_endpoints': [
                {'endpoint': {'address': {'socket_address': {
                    'address': '127.0.0.1', 'port_value': used_clusters[c]}}}}]}]}})
    cfg = {'static_resources': {'listeners': list(listeners.values()), 'clusters': clusters}}
    return cfg, checks, backends, port, meta


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit('usage: vm_http.py DATA_DIR OUT_DIR [PER_ENTRY]')
    data, out = sys.argv[1], sys.argv[2]
    per_entry = int(sys.argv[3]) if len(sys.argv) == 4 else 6
    os.makedirs(out, exist_ok=True)
    port, all_backends = PORT0, []
    for name in sorted(os.listdir(data)):
        d = os.path.join(data, name)
        if not os.path.isfile(os.path.join(d, 'oracle.json')):
            continue
        cfg, checks, backends, port, _ = entry(d, per_entry, port)
        if not checks:
            continue
        # JSON is YAML: kmesh's reader takes it as it is
        with open(os.path.join(out, name + '.yaml'), 'w') as f:
            json.dump(cfg, f, indent=1)
            f.write('\n')
        with open(os.path.join(out, name + '.checks'), 'w') as f:
            f.write('\n'.join(checks) + '\n')
        all_backends += backends
    with open(os.path.join(out, 'backends'), 'w') as f:
        f.write(''.join('%s %d\n' % b for b in all_backends))


if __name__ == '__main__':
    main()
