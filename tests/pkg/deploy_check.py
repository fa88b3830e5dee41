#!/usr/bin/env python3
"""Offline check of deploy/kmesh.yaml with Debian's python3-yaml (no cluster,
no schema: kubeconform and kubectl are not in Debian bookworm). Checks what
a schema would not: every object parses and names its kind, API version and
namespace; the DaemonSet's selector matches its pods, and every account,
ConfigMap and volume it names exists in the file; it runs privileged with
host network and PID and mounts /sys/fs/bpf, the cgroup v2 mount and
/run/netns; its image tag is the version (VERSION); every kmeshd flag
it passes is one `kmeshd --help` lists; `kmeshd --check` accepts the
ConfigMap's mesh.yaml. Prints ok/not ok lines and
"N passed, N failed, N skipped".
  tests/pkg/deploy_check.py [KMESHD]"""
import os, re, subprocess, sys, tempfile
import yaml

os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
kmeshd = sys.argv[1] if len(sys.argv) > 1 else "build/kmeshd"
res = {"pass": 0, "fail": 0, "skip": 0, "n": 0}

def report(good, name, why=""):
    res["n"] += 1
    res["pass" if good else "fail"] += 1
    print(("ok" if good else "not ok") + " %d - deploy: %s" % (res["n"], name))
    if not good:
        print("#   " + why)

API = {"Namespace": "v1", "ServiceAccount": "v1", "ConfigMap": "v1", "DaemonSet": "apps/v1"}
NS = "kmesh-system"
try:
    docs = [d for d in yaml.safe_load_all(open("deploy/kmesh.yaml")) if d is not None]
    report(True, "deploy/kmesh.yaml parses: " + ", ".join(d.get("kind", "?") for d in docs))
except (OSError, yaml.YAMLError) as e:
    report(False, "deploy/kmesh.yaml parses", str(e))
    docs = []

bad = []
for i, d in enumerate(docs):
    k, meta = d.get("kind"), d.get("metadata") or {}
    if API.get(k) != d.get("apiVersion"):
        bad.append("object %d: kind %s apiVersion %s" % (i, k, d.get("apiVersion")))
    if not meta.get("name"):
        bad.append("object %d (%s): no metadata.name" % (i, k))
    if k != "Namespace" and meta.get("namespace") != NS:
        bad.append("%s %s: namespace %s, not %s" % (k, meta.get("name"), meta.get("namespace"), NS))
report(not bad and any(d.get("kind") == "Namespace" for d in docs),
       "kinds, API versions, names, one namespace (%s)" % NS, "; ".join(bad) or "no Namespace")

by = {}
for d in docs:
    by.setdefault(d.get("kind"), {})[(d.get("metadata") or {}).get("name")] = d
ds = list(by.get("DaemonSet", {}).values())
if len(ds) != 1:
    report(False, "one DaemonSet", "found %d" % len(ds))
    ds = None
else:
    ds = ds[0]

if ds:
    bad = []
    spec = ds.get("spec") or {}
    pod = (spec.get("template") or {}).get("spec") or {}
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    sel = (spec.get("selector") or {}).get("matchLabels") or {}
    if not sel or any(labels.get(k) != v for k, v in sel.items()):
        bad.append("selector %s does not match pod labels %s" % (sel, labels))
    if pod.get("serviceAccountName") not in by.get("ServiceAccount", {}):
        bad.append("serviceAccountName %s is not in the file" % pod.get("serviceAccountName"))
    vols = {v["name"]: v for v in pod.get("volumes") or []}
    for v in vols.values():
        cm = (v.get("configMap") or {}).get("name")
        if cm and cm not in by.get("ConfigMap", {}):
            bad.append("volume %s: ConfigMap %s is not in the file" % (v["name"], cm))
    ctrs = pod.get("containers") or []
    inits = pod.get("initContainers") or []
    mounts = {}
    for c in ctrs + inits:
        for m in c.get("volumeMounts") or []:
            if m.get("name") not in vols:
                bad.append("container %s mounts unknown volume %s" % (c.get("name"), m.get("name")))
            mounts[m.get("mountPath")] = vols.get(m.get("name"), {})
    report(not bad, "DaemonSet: selector, account, ConfigMap and volumes resolve", "; ".join(bad))

    bad = []
    if not (pod.get("hostNetwork") and pod.get("hostPID")):
        bad.append("hostNetwork and hostPID must be true")
    if not all((c.get("securityContext") or {}).get("privileged") for c in ctrs):
        bad.append("containers must be privileged")
    for path in ("/sys/fs/bpf", "/sys/fs/cgroup", "/run/netns"):
        hp = (mounts.get(path) or {}).get("hostPath") or {}
        if hp.get("path") != path:
            bad.append("%s is not the host's %s" % (path, path))
    report(not bad, "DaemonSet: privileged, host network and PID, bpffs, cgroup and netns mounts",
           "; ".join(bad))

    # the init step: kmesh-cni install into the host's CNI directories,
    # with the socket kmeshd's state directory (the /run/kmesh mount) holds
    cmd = [a for c in inits for a in c.get("command") or []]
    bad = []
    if cmd[:2] != ["/usr/lib/cni/kmesh-cni", "install"]:
        bad.append("no init container running kmesh-cni install: %s" % cmd)
    for flag, path in (("--bin-dir=", "/opt/cni/bin"), ("--conf-dir=", "/etc/cni/net.d")):
        arg = [a[len(flag):] for a in cmd if a.startswith(flag)]
        hp = ((mounts.get(arg[0]) if arg else None) or {}).get("hostPath") or {}
        if hp.get("path") != path:
            bad.append("%s%s is not the host's %s" % (flag, arg, path))
    sock = [a for a in cmd if a.startswith("--socket=")]
    state = ((mounts.get("/run/kmesh") or {}).get("hostPath") or {}).get("path")
    if sock != ["--socket=/run/kmesh/kmeshd.sock"] or state != "/run/kmesh":
        bad.append("socket %s, kmeshd's state directory the host's %s" % (sock, state))
    report(not bad, "DaemonSet: an init container installs kmesh-cni into the host's CNI directories",
           "; ".join(bad))

    ver = open("VERSION").read().strip()
    imgs = [c.get("image") for c in ctrs + inits]
    report(all(i == "localhost/kmesh:" + ver for i in imgs),
           "image is make image's localhost/kmesh:" + ver, "images: %s" % imgs)

    if not os.access(kmeshd, os.X_OK):
        res["n"] += 1; res["skip"] += 2
        print("ok %d - deploy: kmeshd flags and ConfigMap # SKIP no %s (make)" % (res["n"], kmeshd))
    else:
        helptext = subprocess.run([kmeshd, "--help"], capture_output=True, text=True).stdout
        flags = [a.split("=")[0] for c in ctrs for a in c.get("args") or [] if a.startswith("--")]
        unknown = [f for f in flags if not re.search(r"(^|[ ,])" + re.escape(f) + r"\b", helptext)]
        report(flags and not unknown, "kmeshd knows every flag: " + " ".join(flags),
               "unknown: %s" % unknown)
        for name, cm in by.get("ConfigMap", {}).items():
            for key, text in (cm.get("data") or {}).items():
                with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
                    f.write(text); f.flush()
                    r = subprocess.run([kmeshd, "--check", "--config", f.name],
                                       capture_output=True, text=True)
                report(r.returncode == 0, "kmeshd --check accepts ConfigMap %s/%s" % (name, key),
                       (r.stdout + r.stderr).strip())

print("%d passed, %d failed, %d skipped" % (res["pass"], res["fail"], res["skip"]))
sys.exit(1 if res["fail"] else 0)
