#!/usr/bin/env bash
# Cluster failover (contract §11): three release nodes on a fresh PostgreSQL database and the local
# NATS server, `switchboard load` against all three, `kill -9` of the leader mid-run, then:
#   - failover time: kill → first chat assigned (chats.accepted_at) after it, by the new leader. The
#     killed leader's sockets died with it, so a probe run (1 analyst, 1 user) connects to the new
#     leader as soon as it leads; the figure includes the probe's own connect time (an upper bound).
#   - the lease: kill → the next epoch taken (cluster_lease), and who took it;
#   - lost or doubled messages: the load report's acked count against the messages PostgreSQL
#     holds for the run, and any (chat, client_msg_id) stored twice.
# Usage: benches/cluster_failover.sh
# Env: LOAD_ARGS (the run's shape: "--analysts 20 --users 200 --capacity 10 --rate 500
#      --duration 30s --assign-timeout 5s"), SB_BENCH_PG (postgres://postgres@127.0.0.1:5432), SB_BENCH_NATS (nats://127.0.0.1:4222),
#      KILL_AFTER (seconds after the load starts, 15), SB_BIN (a prebuilt binary; default: build
#      target/release/switchboard).
set -euo pipefail
cd "$(dirname "$0")/.."

PG=${SB_BENCH_PG:-postgres://postgres@127.0.0.1:5432}
NATS=${SB_BENCH_NATS:-nats://127.0.0.1:4222}
KILL_AFTER=${KILL_AFTER:-15}
LOAD_ARGS=${LOAD_ARGS:---analysts 20 --users 200 --capacity 10 --rate 500 --duration 30s --assign-timeout 5s}
if [ -z "${SB_BIN:-}" ]; then
  cargo build --release --quiet --bin switchboard
  SB_BIN=target/release/switchboard
fi
STAMP=$(date +%s)
DB=sb_failover_$STAMP
NAME=failover$STAMP
SECRET=cluster-failover-bench-secret-0123456789
DIR=$(mktemp -d)
psql "$PG/postgres" -qc "CREATE DATABASE $DB"
URL="$PG/$DB"
sql() { psql "$URL" -tAqc "$1"; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PIDS=()
PORTS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" || true
  echo "logs kept in $DIR"
}
trap cleanup EXIT

for i in 0 1 2; do
  port=$(free_port)
  PORTS+=("$port")
  SWITCHBOARD__DATABASE__URL="$URL" \
  SWITCHBOARD__SERVER__BIND="127.0.0.1:$port" \
  SWITCHBOARD__CLUSTER__NATS_URL="$NATS" \
  SWITCHBOARD__CLUSTER__NAME="$NAME" \
  SWITCHBOARD__CLUSTER__NODE_ID="node-$i" \
  SWITCHBOARD__AUTH__JWT_SECRET="$SECRET" \
  SWITCHBOARD__SEED__DEMO=false \
  SWITCHBOARD__LIMITS__MSGS_PER_SEC=100000 SWITCHBOARD__LIMITS__MSGS_BURST=100000 \
  SWITCHBOARD__LOG__FORMAT=json \
    "$SB_BIN" serve >"$DIR/node-$i.log" 2>&1 &
  PIDS+=("$!")
done
URLS=()
for port in "${PORTS[@]}"; do URLS+=(--url "http://127.0.0.1:$port"); done

# Every node ready: the leader leads, the standbys hear it.
for port in "${PORTS[@]}"; do
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    sleep 0.2
  done
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null || { echo "node on $port not ready" >&2; exit 1; }
done
read -r HOLDER EPOCH < <(sql "SELECT holder, epoch FROM cluster_lease WHERE name = '$NAME'" | tr '|' ' ')
LEADER=${HOLDER#node-}
echo "leader: $HOLDER (epoch $EPOCH) on port ${PORTS[$LEADER]}"

# shellcheck disable=SC2086 # LOAD_ARGS is a list of flags
"$SB_BIN" load "${URLS[@]}" --secret "$SECRET" $LOAD_ARGS --max-error-rate 1 \
  --json "$DIR/report.json" >"$DIR/load.txt" 2>"$DIR/load.err" &
LOAD=$!
sleep "$KILL_AFTER"
KILLED=$(date +%s.%N)
kill -9 "${PIDS[$LEADER]}"
wait "${PIDS[$LEADER]}" 2>/dev/null || true
echo "killed $HOLDER at $(date -u -d "@$KILLED" +%T.%N)"

# The next epoch, and the node that leads under it.
for _ in $(seq 1 300); do
  NEXT=$(sql "SELECT holder || ' ' || epoch || ' ' || extract(epoch FROM now()) FROM cluster_lease WHERE name = '$NAME' AND epoch > $EPOCH")
  [ -n "$NEXT" ] && break
  sleep 0.02
done
read -r NEW_HOLDER NEW_EPOCH TAKEN <<<"$NEXT"
NEW=${NEW_HOLDER#node-}
until curl -fsS "http://127.0.0.1:${PORTS[$NEW]}/readyz" 2>/dev/null | grep -q '"cluster":"leader"'; do sleep 0.02; done
LEADING=$(date +%s.%N)
# The probe: one analyst and one user on the new leader.
"$SB_BIN" load --url "http://127.0.0.1:${PORTS[$NEW]}" --secret "$SECRET" --analysts 1 --users 1 --capacity 100 \
  --queue probe --rate 0 --duration 1s --max-error-rate 1 >"$DIR/probe.txt" 2>&1 || true
FIRST=$(sql "SELECT extract(epoch FROM min(accepted_at)) FROM chats WHERE accepted_at > to_timestamp($KILLED)")
wait "$LOAD" || true

ACKED=$(python3 -c "import json; print(json.load(open('$DIR/report.json'))['messages_acked'])" 2>/dev/null || echo "?")
STORED=$(sql "SELECT count(*) FROM chat_messages m JOIN chats c ON c.id = m.chat_id WHERE c.queue_id = 'load' AND m.client_msg_id IS NOT NULL")
DOUBLED=$(sql "SELECT count(*) FROM (SELECT chat_id, client_msg_id FROM chat_messages WHERE client_msg_id IS NOT NULL GROUP BY 1, 2 HAVING count(*) > 1) d")
ms() { python3 -c "print(f'{($2 - $1) * 1000:.0f} ms')"; }
echo "lease taken by $NEW_HOLDER (epoch $NEW_EPOCH): $(ms "$KILLED" "$TAKEN") after the kill"
echo "new leader ready (readyz leader): $(ms "$KILLED" "$LEADING") after the kill"
if [ -n "$FIRST" ]; then
  echo "failover (kill -9 → first assignment by the new leader): $(ms "$KILLED" "$FIRST")"
else
  echo "failover: no chat was assigned after the kill (see $DIR/probe.txt)"
fi
echo "messages acked by the load run: $ACKED; stored for its chats: $STORED; stored twice: $DOUBLED"
cat "$DIR/load.txt"
