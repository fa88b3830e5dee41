#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""
Compare what kmesh does with a corpus entry against the oracle, once
kmeshd serves the entry's responses (tests/xds/corpus.sh sets that up).

    check.py --data DIR --cgroup CG --netns NS --testcli BIN
             --kmeshctl 'BIN ARGS' [--known FILE] [--http]

L4 destinations: one real connect each (km_testcli, in cgroup CG and
network namespace NS, which has no route out). The identity backend
(idsrv.py) answers with the endpoint address, which meta.json maps to its
cluster. A connect left on its original destination fails with
ENETUNREACH (passthrough); a refused one is told apart by kmesh's counters
(blackhole, no_cluster, no_endpoint).

HTTP destinations (--http): kmeshctl explain, the module's own matcher on
the live route table, by Host, path and headers.

A disagreement is "explained" when a line of FILE matches it:
    ENTRY KIND ID-GLOB | why
(KIND l4 or http; ID-GLOB an fnmatch pattern of the destination's id).
Prints one JSON object: counts, the explained and unexplained
disagreements, and the lines of FILE for this entry that matched nothing
(stale: kmesh now agrees there).
"""
import argparse
import fnmatch
import json
import os
import shlex
import subprocess
import sys


def load(d, f):
    with open(os.path.join(d, f)) as fh:
        return json.load(fh)


class Kmesh:
    def __init__(self, a, meta, clusters):
        self.a = a
        self.ctl = shlex.split(a.kmeshctl)
        self.meta = meta
        self.clusters = clusters

    def counters(self):
        out = subprocess.run(self.ctl + ['-o', 'json', 'status'], capture_output=True, text=True)
        try:
            return json.loads(out.stdout).get('counters', {})
        except ValueError:
            return {}

    def in_app(self, argv):
        cg = self.a.cgroup

        def enter():
            with open(os.path.join(cg, 'cgroup.procs'), 'w') as f:
                f.write(str(os.getpid()))
        return subprocess.run(['nsenter', '--net=/run/netns/' + self.a.netns] + argv,
                              preexec_fn=enter, capture_output=True, text=True, timeout=30)

    def connect(self, d):
        """what kmesh did with one L4 destination: (kind, detail)"""
        host = d['addr'] if ':' not in d['addr'] else '[%s]' % d['addr']
        argv = [self.a.testcli, '-n', '1', '-t', '2000']
        if d.get('client') == 'http':
            argv += ['-H', d['host'], '-P', d.get('path', '/')]
        argv.append('%s:%d' % (host, d['port']))
        before = self.counters()
        out = self.in_app(argv).stdout
        for line in out.splitlines():
            if line.startswith('ok backend='):
                ep = line.split()[1].split('=', 1)[1]
                m = self.meta['endpoints'].get(ep)
                if m is None:
                    return 'unknown', 'answered by %s, not a corpus endpoint' % ep
                return 'cluster', m['cluster']
            if line.startswith('err connect errno=ENETUNREACH'):
                return 'passthrough', 'left on its destination (ENETUNREACH: no route out)'
            if line.startswith('err connect errno=ECONNREFUSED'):
                after = self.counters()
                why = [k for k in ('blackhole', 'no_cluster', 'no_endpoint', 'inconsistent', 'family_mismatch')
                       if after.get(k, 0) > before.get(k, 0)]
                if 'blackhole' in why:
                    return 'blackhole', 'refused, counted blackhole'
                return 'none', 'refused, counted %s' % (','.join(why) or 'nothing')
        return 'error', out.strip().replace('\n', ' | ')[:300]

    def explain(self, d):
        argv = self.ctl + ['-o', 'json', 'explain', '--host', d['host'], '--path', d['path']]
        for k, v in sorted(d.get('headers', {}).items()):
            argv += ['--header', '%s: %s' % (k, v)]
        argv.append(d['listener'])
        r = subprocess.run(argv, capture_output=True, text=True)
        if r.returncode == 2:
            return 'error', (r.stderr.strip() or r.stdout.strip())[:300], None
        try:
            j = json.loads(r.stdout)
        except ValueError:
            return 'error', r.stdout[:300], None
        if j.get('result') == 'served_as_l4':
            return 'error', 'listener has no route table (served as L4)', None
        if r.returncode == 1:
            return 'none', 'no %s' % ('virtual host' if not j.get('virtual_host') else 'route'), None
        cl = [[c['name'], c['weight']] for c in j.get('clusters', [])]
        return 'clusters', 'vhost %s route %s' % ((j.get('virtual_host') or {}).get('name'),
                                                   (j.get('route') or {}).get('index')), cl


def kind_of_cluster(clusters, name):
    c = clusters.get(name)
    if c is None:
        return 'none'
    t = c.get('type', 'STATIC')
    if t == 'ORIGINAL_DST':
        return 'passthrough'
    if t == 'STATIC':
        la = c.get('load_assignment') or {}
        if not sum(len(g.get('lb_endpoints', [])) for g in la.get('endpoints', [])):
            return 'blackhole'
    return 'cluster'


def agree_l4(exp, got, detail):
    k = exp['kind']
    if k == 'cluster':
        return got == 'cluster' and detail in [c[0] for c in exp['clusters']]
    return got == k


def agree_http(exp, got, cl, clusters):
    k = exp['kind']
    if got != 'clusters':
        return k == 'none' and got == 'none'
    if k == 'cluster':
        return sorted(map(tuple, cl)) == sorted(map(tuple, exp['clusters']))
    if k in ('passthrough', 'blackhole'):
        return len(cl) == 1 and cl[0][0] == exp.get('cluster')
    if k == 'none' and len(cl) == 1 and exp.get('cluster') == cl[0][0]:
        return True	# a route to a cluster CDS lacks: both refuse it (NC)
    return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--data', required=True)
    ap.add_argument('--cgroup', required=True)
    ap.add_argument('--netns', required=True)
    ap.add_argument('--testcli', required=True)
    ap.add_argument('--kmeshctl', required=True)
    ap.add_argument('--known')
    ap.add_argument('--http', action='store_true')
    a = ap.parse_args()
    meta = load(a.data, 'meta.json')
    oracle = load(a.data, 'oracle.json')
    clusters = {c['name']: c for c in load(a.data, 'cds.json')}
    name = meta['name']
    known = []
    if a.known:
        with open(a.known) as f:
            for line in f:
                line = line.strip()
                if not line or line.startswith('#'):
                    continue
                pat, _, why = line.partition('|')
                e, kind, glob = pat.split(None, 2)
                if e == name:
                    known.append({'kind': kind, 'glob': glob.strip(), 'why': why.strip(), 'used': 0})
    km = Kmesh(a, meta, clusters)
    res = {'entry': name, 'istio_version': meta.get('istio_version'),
           'l4': {'total': 0, 'agree': 0}, 'http': {'total': 0, 'agree': 0},
           'explained': [], 'unexplained': []}

    def judge(kind, d, ok, got):
        r = res[kind]
        r['total'] += 1
        if ok:
            r['agree'] += 1
            return
        ent = {'kind': kind, 'id': d['id'], 'envoy': d['expect'], 'envoy_why': d['why'], 'kmesh': got}
        for k in known:
            if k['kind'] == kind and fnmatch.fnmatchcase(d['id'], k['glob']):
                k['used'] += 1
                ent['why'] = k['why']
                res['explained'].append(ent)
                return
        res['unexplained'].append(ent)

    for d in oracle['l4']:
        got, detail = km.connect(d)
        judge('l4', d, agree_l4(d['expect'], got, detail), '%s: %s' % (got, detail))
    if a.http:
        for d in oracle['http']:
            got, detail, cl = km.explain(d)
            judge('http', d, agree_http(d['expect'], got, cl, clusters),
                  '%s: %s %s' % (got, detail, json.dumps(cl) if cl else ''))
    res['stale_known'] = ['%s %s | %s' % (k['kind'], k['glob'], k['why']) for k in known
                          if not k['used'] and (a.http or k['kind'] == 'l4')]
    json.dump(res, sys.stdout, indent=1)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()
