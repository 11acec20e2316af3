#!/bin/sh
# Installs (or upgrades, or removes) the Atoll agent on this host. Served by atoll-control:
#   curl -fsSL http://<control>:7700/install/agent.sh | sudo sh -s -- --token <join token>
# Options:
#   --token <t>          join token (needed for the first install; see `atoll node add-token`)
#   --attributes k=v,..  node attributes (constraints use them)
#   --address <ip>       the address other hosts reach this node's tasks at (default: detected)
#   --reserve-cpus <n>   CPUs kept for the host itself, never offered to tasks
#   --reserve-mem <MiB>  memory kept for the host itself
#   --uninstall          stop and remove the agent; running containers are left alone
#   --purge              with --uninstall: also remove this node's containers and its state
# What it does: checks the host (Linux, systemd, architecture, Docker), fetches the agent bundle and
# the Node.js runtime it runs on from control into /opt/atoll, writes /etc/atoll/agent.env (0600),
# writes and enables atoll-agent.service, starts it, waits until the node joined and prints its id.
set -eu

CONTROL_URL='@@CONTROL_URL@@'
AGENT_ARCH='@@ARCH@@'
# V8 flags that keep the agent's footprint small (see apps/agent/src/bundle.ts).
NODE_FLAGS='@@NODE_FLAGS@@'
# Tests install into a scratch root; on a real host this is empty.
ROOT="${ATOLL_INSTALL_ROOT:-}"
OPT="$ROOT/opt/atoll"
ETC="$ROOT/etc/atoll"
UNIT_DIR="$ROOT/etc/systemd/system"
STATE="$ROOT/var/lib/atoll"
UNIT=atoll-agent.service

TOKEN=''
ATTRIBUTES=''
ADDRESS=''
RESERVE_CPUS=''
RESERVE_MEM=''
UNINSTALL=0
PURGE=0

say() { printf 'atoll: %s\n' "$*"; }
fail() {
  printf 'atoll: error: %s\n' "$1" >&2
  [ -n "${2:-}" ] && printf 'atoll: fix: %s\n' "$2" >&2
  exit 1
}

while [ $# -gt 0 ]; do
  case "$1" in
    --token) [ $# -ge 2 ] || fail '--token needs a value'; TOKEN="$2"; shift 2 ;;
    --attributes) [ $# -ge 2 ] || fail '--attributes needs a value'; ATTRIBUTES="$2"; shift 2 ;;
    --address) [ $# -ge 2 ] || fail '--address needs a value'; ADDRESS="$2"; shift 2 ;;
    --reserve-cpus) [ $# -ge 2 ] || fail '--reserve-cpus needs a value'; RESERVE_CPUS="$2"; shift 2 ;;
    --reserve-mem) [ $# -ge 2 ] || fail '--reserve-mem needs a value (MiB)'; RESERVE_MEM="$2"; shift 2 ;;
    --uninstall) UNINSTALL=1; shift ;;
    --purge) PURGE=1; shift ;;
    -h|--help) sed -n '2,15p' "$0" 2>/dev/null || true; exit 0 ;;
    *) fail "unknown option: $1" 'see --help' ;;
  esac
done

[ "$(id -u)" = 0 ] || fail 'run as root' "curl -fsSL $CONTROL_URL/install/agent.sh | sudo sh -s -- ..."
command -v systemctl >/dev/null 2>&1 || fail 'systemd is needed (systemctl not found)' 'install on a host that boots with systemd'

node_id() { sed -n 's/.*"nodeId": *"\([^"]*\)".*/\1/p' "$STATE/node.json" 2>/dev/null | head -n 1; }

if [ "$UNINSTALL" = 1 ]; then
  ID="$(node_id)"
  systemctl stop "$UNIT" >/dev/null 2>&1 || true
  systemctl disable "$UNIT" >/dev/null 2>&1 || true
  rm -f "$UNIT_DIR/$UNIT"
  systemctl daemon-reload >/dev/null 2>&1 || true
  rm -rf "$OPT" "$ETC"
  if [ "$PURGE" = 1 ]; then
    if [ -n "$ID" ] && command -v docker >/dev/null 2>&1; then
      IDS="$(docker ps -aq --filter "label=io.atoll.node-id=$ID" || true)"
      [ -n "$IDS" ] && docker rm -f $IDS >/dev/null
      say "removed the containers of node $ID"
    fi
    rm -rf "$STATE"
    say 'removed the agent and its state'
  else
    say "removed the agent; its containers keep running (state kept in $STATE; --purge removes both)"
  fi
  exit 0
fi

[ "$(uname -s)" = Linux ] || fail "Atoll agents run on Linux (this is $(uname -s))"
ARCH="$(uname -m)"
[ "$ARCH" = "$AGENT_ARCH" ] || fail "this host is $ARCH but control serves an agent for $AGENT_ARCH" "run control on a $ARCH host to install $ARCH agents, or use a $AGENT_ARCH host"
[ -S /var/run/docker.sock ] || fail 'Docker Engine is not running here (no /var/run/docker.sock)' 'apt-get install -y docker.io && systemctl enable --now docker   (or ATOLL_RUNTIME=exec in /etc/atoll/agent.env for plain processes only)'

if command -v curl >/dev/null 2>&1; then
  fetch() { curl -fsSL --retry 3 -o "$2" "$CONTROL_URL$1"; }
  post() { curl -sS -X POST -H 'content-type: application/json' --data "$2" "$CONTROL_URL$1"; }
elif command -v wget >/dev/null 2>&1; then
  fetch() { wget -q -O "$2" "$CONTROL_URL$1"; }
  post() { wget -q -O - --content-on-error --header 'content-type: application/json' --post-data "$2" "$CONTROL_URL$1"; }
else
  fail 'curl or wget is needed' 'apt-get install -y curl'
fi

UPGRADE=0
[ -f "$STATE/node.json" ] && UPGRADE=1
if [ -z "$TOKEN" ] && [ "$UPGRADE" = 0 ]; then
  fail '--token is needed for a first install' 'create one with `atoll node add-token` or the console (Nodes → Add node)'
fi
if [ -n "$TOKEN" ] && [ "$UPGRADE" = 0 ]; then
  # Checked before anything is installed: a revoked, expired or used-up token stops here.
  CHECK="$(post /install/token-check "{\"token\":\"$TOKEN\"}" 2>&1 || true)"
  case "$CHECK" in
    *'"ok":true'*) ;;
    *'"message":'*) fail "control refused the join token: $(printf '%s' "$CHECK" | sed -n 's/.*"message":"\([^"]*\)".*/\1/p')" 'create a new token with `atoll node add-token`' ;;
    *) fail "cannot reach control at $CONTROL_URL: $CHECK" ;;
  esac
fi

say "installing the agent from $CONTROL_URL"
mkdir -p "$OPT" "$ETC" "$UNIT_DIR" "$STATE"
chmod 700 "$ETC" "$STATE"
fetch /install/atoll-agent.mjs "$OPT/atoll-agent.mjs.new"
fetch /install/node "$OPT/node.new"
chmod 755 "$OPT/node.new"
"$OPT/node.new" --version >/dev/null 2>&1 || fail 'the Node.js runtime fetched from control does not run here' 'check that this host and control have the same architecture and a glibc-based Linux'
mv -f "$OPT/atoll-agent.mjs.new" "$OPT/atoll-agent.mjs"
mv -f "$OPT/node.new" "$OPT/node"

# Settings: kept on upgrade unless new ones are given; readable by root only (it holds the token).
if [ ! -f "$ETC/agent.env" ] || [ -n "$TOKEN" ] || [ -n "$ATTRIBUTES" ] || [ -n "$ADDRESS" ] || [ -n "$RESERVE_CPUS$RESERVE_MEM" ]; then
  OLD_TOKEN="$(sed -n 's/^ATOLL_JOIN_TOKEN=//p' "$ETC/agent.env" 2>/dev/null || true)"
  umask 077
  {
    echo "ATOLL_CONTROL_URL=$CONTROL_URL"
    echo "ATOLL_JOIN_TOKEN=${TOKEN:-$OLD_TOKEN}"
    echo "ATOLL_AGENT_STATE_DIR=$STATE"
    [ -n "$ATTRIBUTES" ] && echo "ATOLL_NODE_ATTRIBUTES=$ATTRIBUTES"
    [ -n "$ADDRESS" ] && echo "ATOLL_NODE_ADDRESS=$ADDRESS"
    [ -n "$RESERVE_CPUS" ] && echo "ATOLL_RESERVED_CPUS=$RESERVE_CPUS"
    [ -n "$RESERVE_MEM" ] && echo "ATOLL_RESERVED_MEM_MB=$RESERVE_MEM"
    true
  } > "$ETC/agent.env.new"
  chmod 600 "$ETC/agent.env.new"
  mv -f "$ETC/agent.env.new" "$ETC/agent.env"
fi

cat > "$UNIT_DIR/$UNIT" <<UNIT_EOF
[Unit]
Description=Atoll agent
Documentation=$CONTROL_URL
After=network-online.target docker.service
Wants=network-online.target

[Service]
EnvironmentFile=$ETC/agent.env
ExecStart=$OPT/node $NODE_FLAGS $OPT/atoll-agent.mjs
Restart=always
RestartSec=2
# Tasks outlive the agent: only the agent process is stopped.
KillMode=process

[Install]
WantedBy=multi-user.target
UNIT_EOF

systemctl daemon-reload
systemctl enable "$UNIT" >/dev/null 2>&1
systemctl restart "$UNIT"

# Joined when the agent has stored the credential control issued.
i=0
while [ -z "$(node_id)" ]; do
  i=$((i + 1))
  [ "$i" -le 120 ] || fail 'the agent did not join within 60 s' "journalctl -u $UNIT"
  sleep 0.5
done
if [ "$UPGRADE" = 1 ]; then say "upgraded; node $(node_id)"; else say "joined; node $(node_id)"; fi
node_id
