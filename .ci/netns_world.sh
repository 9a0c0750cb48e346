#!/usr/bin/env bash
# CI: the training world served in one network namespace, every agent joined by name from another.
#
#   bash .ci/netns_world.sh OUT_LOG
#
# Two namespaces joined by a veth pair (10.77.0.1 <-> 10.77.0.2, multicast on). run_w.py serves the world
# privately (a fresh token) in lockstep for one agent process; `wmverse runtime join --world WMTraining`
# finds it by name over mDNS from the other namespace and runs all ten agents' scripts. The world's log goes
# to OUT_LOG (check_world.py then compares its summary with run_synch.py's). Needs root and iproute2.
set -euo pipefail
cd "$(dirname "$0")/.."
log="$1"
world_ns="wmv-world-$$"
agents_ns="wmv-agents-$$"
out="$(mktemp -d)"

cleanup() {
  ip netns pids "$world_ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
  ip netns pids "$agents_ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
  ip netns del "$world_ns" 2>/dev/null || true
  ip netns del "$agents_ns" 2>/dev/null || true
}
trap cleanup EXIT

ip netns add "$world_ns"
ip netns add "$agents_ns"
ip link add "wmvw$$" type veth peer name "wmva$$"
ip link set "wmvw$$" netns "$world_ns"
ip link set "wmva$$" netns "$agents_ns"
for side in "$world_ns wmvw$$ 10.77.0.1" "$agents_ns wmva$$ 10.77.0.2"; do
  read -r ns dev addr <<< "$side"
  ip netns exec "$ns" ip link set lo up
  ip netns exec "$ns" ip addr add "$addr/24" dev "$dev"
  ip netns exec "$ns" ip link set "$dev" up multicast on
  ip netns exec "$ns" ip route add 224.0.0.0/4 dev "$dev"
done

token="wm$(python -c 'import secrets; print(secrets.token_urlsafe(24))')"  # never starts with '-' (argparse)
agents=$(ls worlds/training/run_*.py | grep -v '/run_w.py$')
start=$(date +%s)
ip netns exec "$world_ns" python run_w.py worlds/training --host 10.77.0.1 --port 4001 --lockstep 1 \
  --token "$token" --quiet --out "$out/world" > "$log" 2>&1 &
world_pid=$!
set +e
# shellcheck disable=SC2086
ip netns exec "$agents_ns" python -m wmverse.cli runtime join --world WMTraining --token "$token" \
  --discovery-timeout 60 --out "$out/agents" --quiet $agents > "$log.agents" 2>&1
join_status=$?
wait "$world_pid"
world_status=$?
set -e
echo "ci: world served across namespaces in $(( $(date +%s) - start )) s (world exit $world_status, joiner exit $join_status)"
grep -E '^join: world' "$log.agents" || true
if [ "$world_status" -ne 0 ] || [ "$join_status" -ne 0 ]; then
  tail -n 30 "$log"
  tail -n 30 "$log.agents"
  exit 1
fi
