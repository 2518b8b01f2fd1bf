#!/usr/bin/env bash
# Compares the field coverage of our CRDs (config/crd/bases, generated from src/api/crd_schema.c)
# with KubeRay's: every property path of KubeRay's schema (per served version) must be in ours,
# with the same type. KubeRay's CRDs are not in this repository; pass a directory holding its
# ray-operator/config/crd/bases/ray.io_<plural>.yaml files (e.g. from a clone of
# ray-project/kuberay at the release we follow).
#
# Usage: hack/check-crd-paths.sh KUBERAY_CRD_DIR [PLURAL...]   (default: rayclusters rayjobs
#        raycronjobs rayservices; a plural whose KubeRay file is missing is skipped with a note)
# Prints, per CRD and version, the paths missing from ours and the paths whose type differs
# (paths only we have are counted, not listed: KUBERAY_CRD_PATHS_VERBOSE=1 lists them too).
# KUBERAY_CRD_PATHS_IGNORE=REGEX (grep -E) leaves out matching paths, e.g. fields of a newer
# Kubernetes than ours ('\.schedulingGroup' when KubeRay's k8s.io/api is 1.36 and we pin 1.35).
# Exit 0 when nothing is missing or different, 1 otherwise, 2 on usage or tool errors.
# Paths: .a.b for properties, [] for array items, {} for additionalProperties values.
# Needs yq (the Debian package, a jq wrapper) and jq.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
usage="usage: hack/check-crd-paths.sh KUBERAY_CRD_DIR [rayclusters|rayjobs|raycronjobs|rayservices ...]"

[ $# -ge 1 ] || { echo "$usage" >&2; exit 2; }
theirs_dir=$1
shift
[ -d "$theirs_dir" ] || { echo "$usage" >&2; exit 2; }
for tool in yq jq; do
  command -v "$tool" >/dev/null ||
    { echo "[check-crd-paths] needs $tool (apt-get install $tool)" >&2; exit 2; }
done
plurals=("$@")
[ ${#plurals[@]} -gt 0 ] || plurals=(rayclusters rayjobs raycronjobs rayservices)

# "version<TAB>path<TAB>type" for every schema node of every version of the CRD on stdin.
# The type of an int-or-string is "int-or-string"; of a node without type, "-" (or
# "preserve-unknown" when it keeps unknown fields).
paths_filter='
def kind:
  if .["x-kubernetes-int-or-string"] then "int-or-string"
  elif .type then .type
  elif .["x-kubernetes-preserve-unknown-fields"] then "preserve-unknown"
  else "-" end;
def walk_paths($p):
  [$p, kind],
  ((.properties // {}) | to_entries[] | .key as $k | .value | walk_paths($p + "." + $k)),
  (if (.items | type) == "object" then .items | walk_paths($p + "[]") else empty end),
  (if (.additionalProperties | type) == "object"
   then .additionalProperties | walk_paths($p + "{}") else empty end);
.spec.versions[] | .name as $v | .schema.openAPIV3Schema | walk_paths("") | [$v] + . | @tsv'

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
for plural in "${plurals[@]}"; do
  ours="$repo/config/crd/bases/ray.io_$plural.yaml"
  theirs="$theirs_dir/ray.io_$plural.yaml"
  [ -f "$ours" ] || { echo "[check-crd-paths] no $ours" >&2; exit 2; }
  if [ ! -f "$theirs" ]; then
    echo "$plural: no KubeRay file $theirs, skipped"
    continue
  fi
  yq -r "$paths_filter" "$ours" | sort -u >"$tmp/ours" ||
    { echo "[check-crd-paths] cannot read $ours" >&2; exit 2; }
  yq -r "$paths_filter" "$theirs" | sort -u >"$tmp/theirs" ||
    { echo "[check-crd-paths] cannot read $theirs" >&2; exit 2; }
  cut -f1,2 "$tmp/ours" | sort -u >"$tmp/ours.p"
  cut -f1,2 "$tmp/theirs" | sort -u >"$tmp/theirs.p"
  comm -13 "$tmp/ours.p" "$tmp/theirs.p" | { grep -Ev "${KUBERAY_CRD_PATHS_IGNORE:-^\$}" || true; } \
    >"$tmp/missing"
  comm -23 "$tmp/ours.p" "$tmp/theirs.p" >"$tmp/extra"
  # same path, different type: join on "version path"
  join -t $'\t' <(awk -F'\t' '{print $1" "$2"\t"$3}' "$tmp/ours" | sort) \
    <(awk -F'\t' '{print $1" "$2"\t"$3}' "$tmp/theirs" | sort) |
    awk -F'\t' '$2 != $3 {print $1": ours " $2 ", KubeRay " $3}' >"$tmp/types"
  n_theirs=$(wc -l <"$tmp/theirs.p")
  n_ours=$(wc -l <"$tmp/ours.p")
  n_missing=$(wc -l <"$tmp/missing")
  n_types=$(wc -l <"$tmp/types")
  n_extra=$(wc -l <"$tmp/extra")
  echo "$plural: KubeRay $n_theirs paths, ours $n_ours; missing $n_missing," \
    "type differs $n_types, only ours $n_extra"
  sed 's/^/  missing: /' "$tmp/missing"
  sed 's/^/  type: /' "$tmp/types"
  [ -z "${KUBERAY_CRD_PATHS_VERBOSE:-}" ] || sed 's/^/  only ours: /' "$tmp/extra"
  [ "$n_missing" -eq 0 ] && [ "$n_types" -eq 0 ] || status=1
done
exit $status
