#!/usr/bin/env bash
# Regenerate data/ from sources.txt: make-data.sh ISTIO_GIT_DIR (a clone of
# the repository named there, with its history).
set -euo pipefail
cd "$(dirname "$0")"
git_dir=${1:?usage: make-data.sh ISTIO_GIT_DIR}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
grep -v '^#' sources.txt | while read -r name repo path commit; do
	[ -n "$name" ] || continue
	ext=${path##*.}
	git --git-dir "$git_dir" show "$commit:$path" > "$tmp/$name.$ext"
	rm -rf "data/$name"
	./convert.py --name "$name" --origin "$repo $path $commit" "$tmp/$name.$ext" "data/$name"
	[ -s oracle.py ] && ./oracle.py "data/$name" > "data/$name/oracle.json"
	echo "$name: $(jq -c .counts "data/$name/meta.json")"
done
