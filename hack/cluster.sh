#!/usr/bin/env bash
# A real, local Kubernetes control plane on loopback for development and tests: etcd,
# kube-apiserver, kube-controller-manager and kube-scheduler built from the pinned upstream
# modules (hack/toolchain.sh), plus kwok on request. Several instances can run side by side: each
# has a name, its own state directory under $KRC_CACHE/clusters/<name> and its own port range.
#
# Usage:
#   hack/cluster.sh up     [--name N] [--port-base P] [--kwok] [--nodes N] [--no-operator|--operator]
#                                                                start (idempotent) and wait until ready;
#                                                                N node agents (default 1; 0 for none);
#                                                                installs the CRDs and RBAC and starts
#                                                                kuberay-operator unless --no-operator
#   hack/cluster.sh down   [--name N] [--purge]                  stop every process; --purge also deletes state
#   hack/cluster.sh status [--name N]                            what runs, and /readyz
#   hack/cluster.sh env    [--name N]                            prints `export KUBECONFIG=... PATH=...`
#
# Ports (P = port base, default 16400 for the instance "default", derived from the name otherwise):
#   P apiserver (https)  P+1 etcd client  P+2 etcd peer  P+3 controller-manager  P+4 scheduler  P+5 kwok
#   P+5+i the kubelet endpoint of node agent i (1..4), on the bridge address
#   P+6 operator metrics, P+7 operator health probes (both on 127.0.0.1, so no clash with P+6/P+7
#   of the node agents, which listen on the bridge address only)
#
# The operator (kuberay-operator, src/controller): `up` applies every config/crd/bases/*.yaml
# (server-side: they carry KubeRay's full schemas, too big for client-side apply) and
# the RBAC of config/rbac (namespace ray-system), then runs the operator as a process of the
# instance with the identity of the ServiceAccount ray-system/kuberay-operator (a client
# certificate with that user name, so exactly the ClusterRole and Role of config/rbac apply),
# leader election in ray-system, watching every namespace. The binary comes from
# KRC_OPERATOR_BINARY, else build/release or build/debug; KRC_OPERATOR_ARGS adds flags.
# --no-operator installs the CRDs and RBAC but starts no operator (tests run their own); it is
# remembered by the instance, so a later `up` keeps it until `up --operator`.
#
# Node agents (kuberay-node, src/node): node i (1..N) is krc-<name>-node-<i>, with state in
# <state dir>/n<i>. All nodes of an instance share one bridge, krcb<k>, with the address
# 10.<128+k/16>.<(k%16)*16>.1/20 where k = (port base / 10) mod 2048, so instances with different
# port bases get different networks; node i allocates pod IPs from the /24 at third octet +i.
# The API server advertises the bridge address (pods reach it there: KUBERNETES_SERVICE_HOST) and
# has it in its serving certificate. KRC_NODE_TAINTS (k=v:Effect,...) registers the nodes with
# taints; KRC_NODE_BACKOFF_BASE_MS shortens the crash back-off (tests); KRC_NODE_ARGS adds agent
# flags (e.g. "--extended-resource nvidia.com/gpu=2"). The binary comes from KRC_NODE_BINARY, else
# build/release or build/debug.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
. "$here/versions.env"
cache=${KRC_CACHE:-$HOME/.cache/kuberay-c}
k8sbin="$cache/k8s-$K8S_VERSION/bin"
kwokbin="$cache/kwok-$KWOK_VERSION/bin"
venv="$cache/venv-ray-$RAY_VERSION"

# Cluster-wide constants, named once.
SERVICE_CIDR=10.96.0.0/16
KUBERNETES_SERVICE_IP=10.96.0.1
CLUSTER_DOMAIN=cluster.local
SA_ISSUER="https://kubernetes.default.svc.$CLUSTER_DOMAIN"
CERT_DAYS=3650
READY_TIMEOUT_S=120
STOP_GRACE_S=10
DEFAULT_PORT_BASE=16400

log() { echo "[cluster:$name] $*" >&2; }
die() { echo "[cluster:$name] FAILED: $*" >&2; exit 1; }

verb=${1:-}
[ $# -gt 0 ] && shift
name=${KRC_CLUSTER_NAME:-default}
port_base=""
with_kwok=0
purge=0
nodes=1
nodes_given=0
with_operator=""
while [ $# -gt 0 ]; do
  case "$1" in
    --name) name=$2; shift 2 ;;
    --name=*) name=${1#*=}; shift ;;
    --port-base) port_base=$2; shift 2 ;;
    --port-base=*) port_base=${1#*=}; shift ;;
    --kwok) with_kwok=1; shift ;;
    --nodes) nodes=$2; nodes_given=1; shift 2 ;;
    --nodes=*) nodes=${1#*=}; nodes_given=1; shift ;;
    --purge) purge=1; shift ;;
    --no-operator) with_operator=0; shift ;;
    --operator) with_operator=1; shift ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
done
[[ "$name" =~ ^[a-z0-9][a-z0-9-]{0,30}$ ]] || { echo "bad --name '$name' (lowercase letters, digits, '-')" >&2; exit 2; }

dir="$cache/clusters/$name"
pki="$dir/pki"
run="$dir/run"
logs="$dir/logs"
kubeconfig="$dir/admin.kubeconfig"

# --no-operator is remembered too: a later plain `up` (e.g. a test restarting the apiserver of an
# instance started without an operator) must not start one; `up --operator` changes it back.
if [ -z "$with_operator" ]; then
  if [ -f "$dir/no-operator" ]; then with_operator=0; else with_operator=1; fi
fi

# The port base is remembered on first start so that later verbs need only the name.
if [ -z "$port_base" ]; then
  if [ -f "$dir/ports.env" ]; then
    port_base=$(. "$dir/ports.env"; echo "$PORT_BASE")
  elif [ "$name" = default ]; then
    port_base=$DEFAULT_PORT_BASE
  else
    # 20000 + 10 * (cksum of name mod 2000): stable per name, spaced by 10.
    port_base=$((20000 + 10 * ($(printf %s "$name" | cksum | cut -d' ' -f1) % 2000)))
  fi
fi
[[ "$port_base" =~ ^[0-9]+$ ]] && [ "$port_base" -ge 1024 ] && [ "$port_base" -le 65000 ] ||
  { echo "bad --port-base '$port_base' (1024..65000)" >&2; exit 2; }
P_API=$port_base
P_ETCD=$((port_base + 1))
P_PEER=$((port_base + 2))
P_KCM=$((port_base + 3))
P_SCHED=$((port_base + 4))
P_KWOK=$((port_base + 5))
P_OP_METRICS=$((port_base + 6))
P_OP_PROBES=$((port_base + 7))
OPERATOR_NAMESPACE=ray-system
OPERATOR_SA=kuberay-operator

components=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)
[[ "$nodes" =~ ^[0-9]+$ ]] && [ "$nodes" -le 4 ] || { echo "bad --nodes '$nodes' (0..4)" >&2; exit 2; }

# The pod network of this instance (see the header).
net_k=$(((port_base / 10) % 2048))
net_a=$((128 + net_k / 16))
net_b=$(((net_k % 16) * 16))
BRIDGE=krcb$net_k
BRIDGE_GATEWAY=10.$net_a.$net_b.1
BRIDGE_CIDR=$BRIDGE_GATEWAY/20
node_range() { echo "10.$net_a.$((net_b + $1)).0/24"; }
node_name() { echo "krc-$name-node-$1"; }
node_state() { echo "$dir/n$1"; }
node_port() { echo $((port_base + 5 + $1)); } # the kubelet endpoint (kubectl logs): P+6..P+9
NODE_PATH_DIRS="$venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# The kuberay-node that `up` used is remembered in the state directory, so that `down` cleans up
# with the same binary even without KRC_NODE_BINARY.
node_binary() {
  local b used=""
  [ -f "$dir/node-binary" ] && used=$(cat "$dir/node-binary")
  for b in "${KRC_NODE_BINARY:-}" "$used" "$repo/build/release/src/node/kuberay-node" "$repo/build/debug/src/node/kuberay-node"; do
    [ -n "$b" ] && [ -x "$b" ] && { echo "$b"; return 0; }
  done
  return 1
}

operator_binary() {
  local b
  for b in "${KRC_OPERATOR_BINARY:-}" "$repo/build/release/src/controller/kuberay-operator" \
    "$repo/build/debug/src/controller/kuberay-operator"; do
    [ -n "$b" ] && [ -x "$b" ] && { echo "$b"; return 0; }
  done
  return 1
}

pid_of() { # prints the pid of a running component, or fails
  local f="$run/$1.pid" pid
  [ -f "$f" ] || return 1
  pid=$(cat "$f")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -q "$dir" "/proc/$pid/cmdline" 2>/dev/null || return 1
  echo "$pid"
}

# Liveness of a component this run just started: its pid is alive. Not pid_of's check (the command
# line naming the instance directory): right after the fork, before exec, the child still shows
# this script's command line, and a fast check then mistook a starting component for a dead one.
started_alive() {
  local f="$run/$1.pid" pid
  [ -f "$f" ] && pid=$(cat "$f") && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null &&
    [ "$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null)" != Z ]
}

# --- PKI -------------------------------------------------------------------------------------
gen_key() { openssl ecparam -name prime256v1 -genkey -noout -out "$1" 2>/dev/null; chmod 600 "$1"; }

# sign NAME SUBJECT EXTENDED_KEY_USAGE [SUBJECT_ALT_NAMES]
sign() {
  local n=$1 subj=$2 eku=$3 san=${4:-}
  gen_key "$pki/$n.key"
  openssl req -new -key "$pki/$n.key" -subj "$subj" -out "$pki/$n.csr" 2>/dev/null
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$eku"
    [ -n "$san" ] && echo "subjectAltName=$san"
  } >"$pki/$n.ext"
  openssl x509 -req -in "$pki/$n.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
    -days "$CERT_DAYS" -sha256 -extfile "$pki/$n.ext" -out "$pki/$n.crt" 2>/dev/null
  rm -f "$pki/$n.csr" "$pki/$n.ext"
}

write_kubeconfig() { # FILE USER_CERT_NAME
  local f=$1 n=$2
  cat >"$f" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: $name
  cluster:
    server: https://127.0.0.1:$P_API
    certificate-authority-data: $(base64 -w0 "$pki/ca.crt")
users:
- name: $n
  user:
    client-certificate-data: $(base64 -w0 "$pki/$n.crt")
    client-key-data: $(base64 -w0 "$pki/$n.key")
contexts:
- name: $name
  context:
    cluster: $name
    user: $n
current-context: $name
EOF
  chmod 600 "$f"
}

ensure_pki() {
  [ -f "$pki/.complete" ] && return 0
  log "generating CA, serving and client certificates, service-account keys in $pki"
  rm -rf "$pki"
  mkdir -p "$pki"
  gen_key "$pki/ca.key"
  openssl req -x509 -new -key "$pki/ca.key" -subj "/CN=kuberay-c-$name-ca" -days "$CERT_DAYS" \
    -sha256 -out "$pki/ca.crt" 2>/dev/null
  local dns="DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc"
  dns="$dns,DNS:kubernetes.default.svc.$CLUSTER_DOMAIN"
  sign apiserver "/CN=kube-apiserver" serverAuth "$dns,IP:127.0.0.1,IP:$KUBERNETES_SERVICE_IP${KRC_APISERVER_EXTRA_SANS:+,$KRC_APISERVER_EXTRA_SANS}"
  sign admin "/O=system:masters/CN=kubernetes-admin" clientAuth
  sign controller-manager "/CN=system:kube-controller-manager" clientAuth
  sign scheduler "/CN=system:kube-scheduler" clientAuth
  sign apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
  sign kwok "/O=system:masters/CN=kwok-controller" clientAuth
  openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
  openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
  chmod 600 "$pki/sa.key"
  write_kubeconfig "$kubeconfig" admin
  write_kubeconfig "$dir/controller-manager.kubeconfig" controller-manager
  write_kubeconfig "$dir/scheduler.kubeconfig" scheduler
  write_kubeconfig "$dir/kwok.kubeconfig" kwok
  ensure_operator_identity
  touch "$pki/.complete"
}

# The operator acts as its ServiceAccount: a client certificate whose user name and groups are
# those the API server gives the ServiceAccount's tokens, so RBAC grants it exactly config/rbac.
ensure_operator_identity() {
  [ -f "$pki/operator.crt" ] && [ -f "$dir/operator.kubeconfig" ] && return 0
  sign operator "/O=system:serviceaccounts/O=system:serviceaccounts:$OPERATOR_NAMESPACE/CN=system:serviceaccount:$OPERATOR_NAMESPACE:$OPERATOR_SA" clientAuth
  write_kubeconfig "$dir/operator.kubeconfig" operator
}

# --- processes -------------------------------------------------------------------------------
start() { # COMPONENT BINARY ARGS...
  local c=$1
  shift
  if pid_of "$c" >/dev/null; then
    log "$c already running (pid $(pid_of "$c"))"
    return 0
  fi
  # setsid: own process group, so `down` can stop it and anything it spawned in one kill.
  setsid "$@" >>"$logs/$c.log" 2>&1 </dev/null &
  echo $! >"$run/$c.pid"
  log "started $c (pid $!, log $logs/$c.log)"
}

wait_for() { # WHAT COMPONENT CHECK-COMMAND...
  local what=$1 c=$2
  shift 2
  local deadline=$((SECONDS + READY_TIMEOUT_S))
  until "$@" >/dev/null 2>&1; do
    if ! started_alive "$c"; then
      tail -15 "$logs/$c.log" >&2 || true
      die "$c exited while waiting for $what (log: $logs/$c.log)"
    fi
    [ $SECONDS -lt $deadline ] || { tail -15 "$logs/$c.log" >&2; die "timed out after ${READY_TIMEOUT_S}s waiting for $what"; }
    sleep 0.2
  done
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

api_ready() {
  curl -sf --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" \
    "https://127.0.0.1:$P_API/readyz" | grep -qx ok
}

node_ready() {
  "$k8sbin/kubectl" --kubeconfig "$kubeconfig" get node "$1" \
    -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null | grep -qx True
}

cmd_up() {
  [ -f "$k8sbin/.complete" ] || die "control plane binaries not built: run hack/toolchain.sh (or make toolchain)"
  if [ "$with_kwok" = 1 ]; then
    [ -f "$kwokbin/.complete" ] || die "kwok not built: run hack/toolchain.sh kwok"
  fi
  mkdir -p "$run" "$logs" "$dir/etcd"
  if ! pid_of kube-apiserver >/dev/null; then
    for p in $P_API $P_ETCD $P_PEER $P_KCM $P_SCHED; do
      if ! port_free "$p" && ! pid_of etcd >/dev/null; then
        die "port $p is in use by another program; choose another --port-base"
      fi
    done
  fi
  echo "PORT_BASE=$port_base" >"$dir/ports.env"
  local node_bin=""
  if [ "$nodes" -gt 0 ] && ! node_binary >/dev/null; then
    [ "$nodes_given" = 1 ] && die "kuberay-node not built (set KRC_NODE_BINARY or make build)"
    log "kuberay-node not built (make build): starting no node agent"
    nodes=0
  fi
  if [ "$nodes" -gt 0 ]; then
    node_bin=$(node_binary)
    echo "$node_bin" >"$dir/node-binary"
    [ ${#dir} -le 55 ] || die "state directory $dir too long for the node agent's sockets"
    # Pods reach the API server at the bridge address: advertise it and put it in the cert.
    export KRC_ADVERTISE_ADDRESS=${KRC_ADVERTISE_ADDRESS:-$BRIDGE_GATEWAY}
    export KRC_APISERVER_EXTRA_SANS="IP:$BRIDGE_GATEWAY${KRC_APISERVER_EXTRA_SANS:+,$KRC_APISERVER_EXTRA_SANS}"
    if [ -f "$pki/.complete" ] && ! openssl x509 -in "$pki/apiserver.crt" -noout -text | grep -q "IP Address:$BRIDGE_GATEWAY"; then
      log "serving certificate lacks $BRIDGE_GATEWAY: regenerating the PKI"
      rm -f "$pki/.complete"
    fi
  fi
  ensure_pki
  if [ "$nodes" -gt 0 ] && [ ! -f "$pki/kubelet.crt" ]; then
    # One serving certificate for every node agent of the instance: they share the bridge address.
    sign kubelet "/CN=kuberay-node" serverAuth "IP:$BRIDGE_GATEWAY,DNS:localhost"
  fi

  start etcd "$k8sbin/etcd" --name "krc-$name" --data-dir "$dir/etcd" \
    --listen-client-urls "http://127.0.0.1:$P_ETCD" --advertise-client-urls "http://127.0.0.1:$P_ETCD" \
    --listen-peer-urls "http://127.0.0.1:$P_PEER" --initial-advertise-peer-urls "http://127.0.0.1:$P_PEER" \
    --initial-cluster "krc-$name=http://127.0.0.1:$P_PEER" --listen-metrics-urls "" \
    --unsafe-no-fsync --log-level warn
  wait_for "etcd health" etcd curl -sf "http://127.0.0.1:$P_ETCD/health"

  # Binds all addresses so that pods in the node agent's network namespaces reach it too; it
  # advertises 127.0.0.1 unless KRC_ADVERTISE_ADDRESS names the node agent's bridge address.
  start kube-apiserver "$k8sbin/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$P_ETCD" --etcd-prefix "/registry-krc-$name" \
    --bind-address 0.0.0.0 --secure-port "$P_API" --advertise-address "${KRC_ADVERTISE_ADDRESS:-127.0.0.1}" \
    --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --client-ca-file "$pki/ca.crt" \
    --kubelet-client-certificate "$pki/apiserver-kubelet-client.crt" \
    --kubelet-client-key "$pki/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority "$pki/ca.crt" --kubelet-preferred-address-types InternalIP \
    --service-account-issuer "$SA_ISSUER" --service-account-key-file "$pki/sa.pub" \
    --service-account-signing-key-file "$pki/sa.key" \
    --service-cluster-ip-range "$SERVICE_CIDR" --authorization-mode Node,RBAC \
    --allow-privileged=true --profiling=false --v=1
  wait_for "kube-apiserver /readyz" kube-apiserver api_ready

  start kube-controller-manager "$k8sbin/kube-controller-manager" \
    --kubeconfig "$dir/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$dir/controller-manager.kubeconfig" \
    --authorization-kubeconfig "$dir/controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$P_KCM" --leader-elect=false \
    --use-service-account-credentials=true --controllers '*' \
    --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
    --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
    --service-cluster-ip-range "$SERVICE_CIDR" --allocate-node-cidrs=false --profiling=false --v=1
  start kube-scheduler "$k8sbin/kube-scheduler" \
    --kubeconfig "$dir/scheduler.kubeconfig" \
    --authentication-kubeconfig "$dir/scheduler.kubeconfig" \
    --authorization-kubeconfig "$dir/scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$P_SCHED" --leader-elect=false --profiling=false --v=1
  wait_for "kube-controller-manager /healthz" kube-controller-manager curl -sfk "https://127.0.0.1:$P_KCM/healthz"
  wait_for "kube-scheduler /readyz" kube-scheduler curl -sfk "https://127.0.0.1:$P_SCHED/readyz"

  if [ "$with_kwok" = 1 ]; then
    # kwok manages only nodes carrying its annotation, so it never touches the node agent's nodes.
    start kwok "$kwokbin/kwok" --kubeconfig "$dir/kwok.kubeconfig" \
      --manage-all-nodes=false --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
      --server-address "127.0.0.1:$P_KWOK" --node-ip 127.0.0.1 --cidr 10.254.0.0/16 \
      --node-lease-duration-seconds 40 \
      --config "$repo/config/kwok/stages.yaml"
    wait_for "kwok /healthz" kwok curl -sf "http://127.0.0.1:$P_KWOK/healthz"
  fi
  local i
  for ((i = 1; i <= nodes; i++)); do
    mkdir -p "$(node_state "$i")"
    start "node-$i" "$node_bin" agent --kubeconfig "$kubeconfig" --node-name "$(node_name "$i")" \
      --state-dir "$(node_state "$i")" --bridge "$BRIDGE" --bridge-cidr "$BRIDGE_CIDR" \
      --pod-range "$(node_range "$i")" --path "$NODE_PATH_DIRS" \
      --kubelet-port "$(node_port "$i")" --tls-cert-file "$pki/kubelet.crt" \
      --tls-private-key-file "$pki/kubelet.key" --client-ca-file "$pki/ca.crt" \
      ${KRC_NODE_BACKOFF_BASE_MS:+--backoff-base-ms "$KRC_NODE_BACKOFF_BASE_MS"} \
      ${KRC_NODE_TAINTS:+--register-with-taints "$KRC_NODE_TAINTS"} ${KRC_NODE_ARGS:-}
  done
  for ((i = 1; i <= nodes; i++)); do
    wait_for "node $(node_name "$i") Ready" "node-$i" node_ready "$(node_name "$i")"
  done
  # The default ServiceAccount appears once the controller-manager's token machinery runs; pods
  # cannot be created before it, so "up" means "usable".
  wait_for "default ServiceAccount" kube-controller-manager \
    "$k8sbin/kubectl" --kubeconfig "$kubeconfig" -n default get serviceaccount default
  install_crds_rbac
  if [ "$with_operator" = 1 ]; then
    rm -f "$dir/no-operator"
    start_operator
  else
    : >"$dir/no-operator"
  fi
  if [ "$with_operator" = 0 ] && pid_of operator >/dev/null; then
    log "operator running (pid $(pid_of operator)) although --no-operator was given: stopping it"
    stop_component operator
  fi
  log "ready: https://127.0.0.1:$P_API (eval \"\$(hack/cluster.sh env --name $name)\")"
}

kc() { "$k8sbin/kubectl" --kubeconfig "$kubeconfig" "$@"; }

# "name=resourceVersion ..." of the CRDs named on the command line; fails when one is missing.
crd_versions() {
  kc get crd "$@" -o jsonpath='{range .items[*]}{.metadata.name}={.metadata.resourceVersion} {end}' 2>/dev/null
}

# Polls until every named CRD reports Established=True, or fails after $1 seconds. Not `kubectl
# wait`: right after an apply a CRD may have no status.conditions yet, and kubectl wait then fails
# at once ("accessor error: <nil>") instead of waiting.
wait_crds_established() {
  local timeout=$1 deadline got
  shift
  deadline=$((SECONDS + timeout))
  while :; do
    got=$(kc get crd "$@" -o jsonpath='{range .items[*]}{range .status.conditions[?(@.type=="Established")]}{.status}{" "}{end}{end}' 2>/dev/null || true)
    [ "$(grep -o True <<<"$got" | wc -l)" -eq $# ] && return 0
    [ "$SECONDS" -ge "$deadline" ] && return 1
    sleep 0.5
  done
}

install_crds_rbac() {
  local f crds=() names=() stamp="$dir/crds.applied" want have
  for f in "$repo"/config/crd/bases/ray.io_*.yaml; do
    [ -f "$f" ] || continue
    crds+=(-f "$f")
    f=${f##*/ray.io_}
    names+=("${f%.yaml}.ray.io")
  done
  if [ ${#crds[@]} -gt 0 ]; then
    # The CRDs carry full schemas (0.7-1.4 MB each, as KubeRay's), beyond the 256 KiB the
    # client-side last-applied annotation may hold: server-side apply, as KubeRay documents.
    # Applying them costs seconds, so it is skipped when neither the files nor the stored CRDs
    # (their resourceVersions) changed since the last apply of this instance.
    want=$(cat "$repo"/config/crd/bases/ray.io_*.yaml | sha256sum | cut -d' ' -f1)
    have=$(crd_versions "${names[@]}" || true)
    if [ -n "$have" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want $have" ]; then
      log "CRDs unchanged since the last apply (${names[*]})"
    else
      rm -f "$stamp"
      kc apply --server-side --force-conflicts --field-manager=kuberay-c-cluster-sh "${crds[@]}" >/dev/null ||
        die "kubectl apply --server-side of config/crd/bases failed"
      wait_crds_established 120 "${names[@]}" || die "CRDs of config/crd/bases not Established within 120 s"
      have=$(crd_versions "${names[@]}") && echo "$want $have" >"$stamp"
    fi
  fi
  kc create namespace "$OPERATOR_NAMESPACE" --dry-run=client -o yaml | kc apply -f - >/dev/null ||
    die "cannot create namespace $OPERATOR_NAMESPACE"
  # config/rbac names no namespace (the installing overlay does, as in KubeRay): an overlay here.
  local overlay="$dir/rbac-overlay"
  mkdir -p "$overlay"
  cat >"$overlay/kustomization.yaml" <<EOF
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: $OPERATOR_NAMESPACE
resources:
- $(realpath --relative-to="$overlay" "$repo/config/rbac")
EOF
  kc apply -k "$overlay" >/dev/null || die "kubectl apply -k config/rbac (namespace $OPERATOR_NAMESPACE) failed"
  log "installed CRDs ($((${#crds[@]} / 2)) files) and RBAC (config/rbac, namespace $OPERATOR_NAMESPACE)"
}

operator_ready() { curl -sf "http://127.0.0.1:$P_OP_PROBES/readyz" | grep -qx ok; }

start_operator() {
  local bin
  if ! bin=$(operator_binary); then
    log "kuberay-operator not built (make build): starting no operator"
    return 0
  fi
  ensure_operator_identity
  # shellcheck disable=SC2086 # KRC_OPERATOR_ARGS is a list of flags
  start operator "$bin" --kubeconfig "$dir/operator.kubeconfig" \
    --metrics-addr "127.0.0.1:$P_OP_METRICS" --health-probe-bind-address "127.0.0.1:$P_OP_PROBES" \
    --enable-leader-election=true --leader-election-namespace "$OPERATOR_NAMESPACE" \
    --enable-metrics ${KRC_OPERATOR_ARGS:-}
  wait_for "operator /readyz" operator operator_ready
}

stop_component() {
  local c=$1 pid
  pid=$(pid_of "$c") || { rm -f "$run/$c.pid"; return 0; }
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + STOP_GRACE_S))
  while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
  kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  rm -f "$run/$c.pid"
  log "stopped $c"
}

# Every node agent ever started for this instance: its state directories n<i>.
node_indexes() {
  local d
  for d in "$dir"/n[0-9]*; do [ -d "$d" ] && echo "${d##*/n}"; done
}

cmd_down() {
  local i bin
  # The operator first (it would recreate pods), then the node agents (they leave their pods
  # running), then their pods, bridge and mounts.
  stop_component operator
  for i in $(node_indexes); do stop_component "node-$i"; done
  if [ -n "$(node_indexes)" ]; then
    if bin=$(node_binary); then
      for i in $(node_indexes); do
        "$bin" cleanup --state-root "$(node_state "$i")" --bridge "$BRIDGE" --bridge-cidr "$BRIDGE_CIDR" --grace 5 \
          >>"$logs/node-$i.log" 2>&1 || { log "cleanup of node $i failed:"; tail -3 "$logs/node-$i.log" >&2; }
      done
      log "removed the node agents' pods, bridge $BRIDGE and state"
    else
      log "kuberay-node not found: pods of the node agents were not cleaned up"
    fi
  fi
  for ((i = ${#components[@]} - 1; i >= 0; i--)); do stop_component "${components[$i]}"; done
  # Anything left that was started against this state directory (e.g. after a lost pid file).
  if pgrep -f -- "$dir/" >/dev/null 2>&1; then
    pkill -KILL -f -- "$dir/" 2>/dev/null || true
    log "killed leftover processes of $dir"
  fi
  if [ "$purge" = 1 ]; then
    rm -rf "$dir"
    log "purged $dir"
  fi
}

cmd_status() {
  local c pid rc=0
  for c in "${components[@]}" operator $(node_indexes | sed 's/^/node-/'); do
    if pid=$(pid_of "$c"); then echo "$c: running (pid $pid)"; else echo "$c: stopped"; fi
  done
  if [ -f "$pki/ca.crt" ] && api_ready; then
    echo "apiserver: https://127.0.0.1:$P_API ready"
  else
    echo "apiserver: not ready"
    rc=1
  fi
  return $rc
}

cmd_env() {
  echo "export KUBECONFIG='$kubeconfig'"
  echo "export KRC_CLUSTER_NAME='$name'"
  echo "export KRC_ETCD_ENDPOINT='http://127.0.0.1:$P_ETCD'"
  echo "export KRC_NODE_STATE_ROOT='$dir'"
  echo "export PATH='$k8sbin:$venv/bin':\"\$PATH\""
}

case "$verb" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  env) cmd_env ;;
  *) echo "usage: $0 up|down|status|env [--name N] [--port-base P] [--kwok] [--nodes N] [--no-operator] [--purge]" >&2; exit 2 ;;
esac
