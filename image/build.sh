#!/usr/bin/env bash
# An OCI image from scratch: the statically linked kmeshd, kmeshctl and
# kmesh-cni (make vm-bins) and nothing else, so nothing is downloaded.
# kmesh-cni install, run from the image, puts the plugin on the node. The BPF objects are
# inside kmeshd (skeletons). Needs buildah (Debian's) and root.
#   image/build.sh BINDIR NAME:TAG
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:?usage: image/build.sh BINDIR NAME:TAG}
tag=${2:?usage: image/build.sh BINDIR NAME:TAG}

command -v buildah >/dev/null ||
	{ echo "image: buildah is not installed (apt-get install buildah)" >&2; exit 1; }
for b in kmeshd kmeshctl kmesh-cni; do
	[ -x "$bin/$b" ] || { echo "image: $bin/$b is missing (make vm-bins)" >&2; exit 1; }
	if readelf -l "$bin/$b" | grep -q INTERP; then
		echo "image: $bin/$b is not statically linked" >&2; exit 1
	fi
done

c=$(buildah from scratch)
trap 'buildah rm "$c" >/dev/null' EXIT
buildah copy --chmod 0755 "$c" "$bin/kmeshd" /usr/sbin/kmeshd >/dev/null
buildah copy --chmod 0755 "$c" "$bin/kmeshctl" /usr/bin/kmeshctl >/dev/null
buildah copy --chmod 0755 "$c" "$bin/kmesh-cni" /usr/lib/cni/kmesh-cni >/dev/null
buildah copy --chmod 0644 "$c" examples/mesh.yaml /etc/kmesh/mesh.yaml.example >/dev/null
buildah config --entrypoint '["/usr/sbin/kmeshd"]' --cmd '["--config","/etc/kmesh/mesh.yaml"]' \
	--env PATH=/usr/sbin:/usr/bin --label org.opencontainers.image.title=kmesh "$c"
buildah commit --quiet --rm --format oci "$c" "$tag" >/dev/null
trap - EXIT
echo "image: built $tag"
