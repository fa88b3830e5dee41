#!/usr/bin/env bash
# Installs tests/xds/package.json's modules into build/xds-node/ (or
# $XDS_NODE_DIR): npm ci against the lock file, --ignore-scripts. Does
# nothing when the same package.json + package-lock.json are already there.
# Bounded: XDS_NPM_TIMEOUT seconds (default 300). Safe to run concurrently.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
dest=${XDS_NODE_DIR:-$root/build/xds-node}

command -v node >/dev/null || { echo "npm-install.sh: node not found" >&2; exit 1; }
command -v npm >/dev/null || { echo "npm-install.sh: npm not found" >&2; exit 1; }

hash=$(cat "$here/package.json" "$here/package-lock.json" 2>/dev/null | sha256sum | cut -d' ' -f1)
mkdir -p "$dest"
installed() {
	[ -f "$dest/.installed" ] && [ "$(cat "$dest/.installed")" = "$hash" ] &&
		[ -f "$dest/node_modules/@grpc/grpc-js-xds/package.json" ] &&
		[ -f "$dest/node_modules/@grpc/grpc-js/package.json" ] &&
		[ -f "$dest/node_modules/@grpc/proto-loader/package.json" ]
}
installed && exit 0

exec 9>"$dest/.lock"
timeout "${XDS_NPM_TIMEOUT:-300}" flock 9 || { echo "npm-install.sh: timed out waiting for $dest/.lock" >&2; exit 1; }
installed && exit 0

rm -f "$dest/.installed"
cp "$here/package.json" "$dest/package.json"
if [ -f "$here/package-lock.json" ]; then
	cp "$here/package-lock.json" "$dest/package-lock.json"
	cmd=ci
else
	rm -f "$dest/package-lock.json"
	cmd=install
fi
echo "npm-install.sh: npm $cmd into $dest" >&2
if ! timeout "${XDS_NPM_TIMEOUT:-300}" npm "$cmd" --prefix "$dest" --ignore-scripts \
	--no-audit --no-fund --loglevel=error >&2; then
	echo "npm-install.sh: npm $cmd failed or timed out" >&2
	exit 1
fi
echo "$hash" > "$dest/.installed"
