#!/usr/bin/env bash
# A/B two revisions of rshm on one benchmark regex, interleaved so that both
# see the same drift of a shared machine.
#
#   bench/ab.sh OLD NEW REGEX [ROUNDS] [COUNT] [BENCHTIME]
#
# OLD and NEW are git revisions (NEW may be "." for the working tree). Each is
# built once as a test binary of ./bench; then ROUNDS times (default 3) OLD
# runs REGEX COUNT times (default 2, -benchtime BENCHTIME, default 1s), then
# NEW does. Per benchmark and binary it prints the best and the median of the
# headline metric: msgs/s or req/s (higher is better) or p50-ns (lower).
set -euo pipefail
[ $# -ge 3 ] || { sed -n 4,11p "$0"; exit 2; }
old=$1 new=$2 regex=$3 rounds=${4:-3} count=${5:-2} bt=${6:-1s}
root=$(git rev-parse --show-toplevel)
tmp=$(mktemp -d)
trap 'git -C "$root" worktree remove --force "$tmp/src-old" 2>/dev/null || true
      git -C "$root" worktree remove --force "$tmp/src-new" 2>/dev/null || true
      rm -rf "$tmp"' EXIT

build() { # rev name
	local src=$root
	if [ "$1" != . ]; then
		src=$tmp/src-$2
		git -C "$root" worktree add --detach --quiet "$src" "$1"
	fi
	(cd "$src/bench" && go test -c -o "$tmp/$2.test" .)
}
build "$old" old
build "$new" new

cd "$root/bench" # the binaries run their peers from here
for _ in $(seq "$rounds"); do
	for b in old new; do
		"$tmp/$b.test" -test.run '^$' -test.bench "$regex" -test.benchtime "$bt" -test.count "$count" 2>&1 |
			awk -v b=$b '/^Benchmark/ { for (i = 3; i <= NF; i++) if ($i == "msgs/s" || $i == "req/s" || $i == "p50-ns") { print $1, b, $i, $(i-1); break } }'
	done
done | sort -k1,1 -k2,2r -k4,4g | awk '
	function flush() {
		if (n == 0) return
		best = (unit == "p50-ns") ? v[1] : v[n]
		med = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
		printf "%-44s %-4s best %14.1f  median %14.1f  %s  (n=%d)\n", name, bin, best, med, unit, n
		n = 0
	}
	{ if ($1 != name || $2 != bin) { flush(); name = $1; bin = $2; unit = $3 } v[++n] = $4 }
	END { flush() }'
