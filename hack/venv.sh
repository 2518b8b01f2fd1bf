#!/usr/bin/env bash
# Creates (once) the Python virtualenv with the pinned Ray, pytest and the kubernetes client, in the
# cache outside the repo. Prints nothing but a status line when it is already complete.
# Usage: hack/venv.sh            -> ensures the venv, prints its path on the last line
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
cache=${KRC_CACHE:-$HOME/.cache/kuberay-c}
venv="$cache/venv-ray-$RAY_VERSION"
stamp="$venv/.krc-complete-$RAY_VERSION-$PYTEST_VERSION-$KUBERNETES_PY_VERSION-$PROTOBUF_VERSION"

if [ -f "$stamp" ]; then
  echo "[venv] ready: $venv" >&2
  echo "$venv"
  exit 0
fi

py=${PYTHON:-python3}
command -v "$py" >/dev/null || { echo "[venv] no $py on PATH" >&2; exit 1; }
if [ -x "$venv/bin/pip" ] && "$venv/bin/python" -c 'import ray' 2>/dev/null; then
  # An earlier pin set: install the current pins into it (pip changes only what differs).
  echo "[venv] updating $venv to the pins of hack/versions.env" >&2
else
  echo "[venv] creating $venv with ray[default,serve]==$RAY_VERSION (downloads ~300 MB from PyPI once)" >&2
  rm -rf "$venv"
  "$py" -m venv "$venv" || { echo "[venv] '$py -m venv' failed" >&2; exit 1; }
  "$venv/bin/pip" install -q --disable-pip-version-check --upgrade pip >&2 ||
    { echo "[venv] pip upgrade failed" >&2; exit 1; }
fi
"$venv/bin/pip" install -q --disable-pip-version-check \
  "ray[default,serve]==$RAY_VERSION" "pytest==$PYTEST_VERSION" "kubernetes==$KUBERNETES_PY_VERSION" \
  "protobuf==$PROTOBUF_VERSION" >&2 ||
  { echo "[venv] pip install of ray/pytest/kubernetes/protobuf failed" >&2; exit 1; }
"$venv/bin/ray" --version >&2 || { echo "[venv] ray CLI does not run" >&2; exit 1; }
touch "$stamp"
echo "[venv] ready: $venv" >&2
echo "$venv"
