#!/bin/sh
# The packages' debian/changelog, from the one version (VERSION); make deb
# writes it into its copy of the tree, debian/rules refuses any other.
set -e
cd "$(dirname "$0")/.."
printf 'kmesh (%s) unstable; urgency=medium\n\n  * Built from the kmesh tree.\n\n -- %s  %s\n' \
	"$(cat VERSION)" 'kmesh developers <kmesh@example.invalid>' "$(date -R)"
