#!/usr/bin/env bash
# The one-core latency method of BENCHMARKS.md (issue 18): a release server pinned to core 0 with
# `taskset -c 0`, the load harness pinned to core 1, a fresh database for every run, each run's JSON
# report kept, then the medians and worst of the runs printed as a Markdown table row.
#
#   benches/one_core.sh steady sqlite 5      # 10,000 msg/s for 30 s, five runs
#   benches/one_core.sh steady postgres 5
#   benches/one_core.sh saturate sqlite 3    # offered 60,000 msg/s for 15 s
#   benches/one_core.sh burst sqlite 5       # 2,000 start_chat at once, 200 analysts
#
# Needs `cargo build --release` first; PostgreSQL runs use 127.0.0.1:5432 as user postgres.
# Reports go to ${OUT:-/tmp/one-core}/<scenario>-<db>-<n>.json.
set -euo pipefail
cd "$(dirname "$0")/.."
scenario="${1:?scenario: steady | saturate | burst}"
db="${2:?database: sqlite | postgres}"
runs="${3:-5}"
out="${OUT:-/tmp/one-core}"
port="${PORT:-28417}"
bin=target/release/switchboard
secret="one-core-bench-secret-0123456789abcdef"
mkdir -p "$out"
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 1; }

case "$scenario" in
  steady) flags=(--analysts 200 --users 2000 --capacity 10 --rate 10000 --duration 30s) ;;
  saturate) flags=(--analysts 200 --users 2000 --capacity 10 --rate 60000 --duration 15s --max-error-rate 1) ;;
  burst) flags=(--analysts 200 --users 2000 --capacity 10 --rate 0 --duration 1s) ;;
  *) echo "unknown scenario $scenario" >&2; exit 2 ;;
esac

for n in $(seq 1 "$runs"); do
  case "$db" in
    sqlite)
      rm -f /tmp/sb-one-core.db*
      url="sqlite:///tmp/sb-one-core.db?mode=rwc" ;;
    postgres)
      psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS sb_one_core" \
        -c "CREATE DATABASE sb_one_core"
      url="postgres://postgres@127.0.0.1:5432/sb_one_core" ;;
    *) echo "unknown database $db" >&2; exit 2 ;;
  esac
  SWITCHBOARD__SERVER__BIND="127.0.0.1:$port" SWITCHBOARD__SEED__DEMO=false \
  SWITCHBOARD__LIMITS__MSGS_PER_SEC=100000 SWITCHBOARD__LIMITS__MSGS_BURST=100000 \
  SWITCHBOARD__LOG__FILTER=warn SWITCHBOARD__DATABASE__URL="$url" \
  SWITCHBOARD__AUTH__JWT_SECRET="$secret" \
    taskset -c 0 "$bin" serve >"$out/server.log" 2>&1 &
  server=$!
  for _ in $(seq 1 50); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
  report="$out/$scenario-$db-$n.json"
  taskset -c 1 "$bin" load --url "http://127.0.0.1:$port" --secret "$secret" "${flags[@]}" \
    --json "$report" >"$out/$scenario-$db-$n.txt" 2>&1 || echo "run $n: harness exited non-zero" >&2
  grep -E '^(p50|connect|assign|ack|deliver) ' "$out/$scenario-$db-$n.txt" || true
  echo "run $n: peak RSS $(grep VmHWM /proc/$server/status | awk '{print $2, $3}')"
  kill "$server"; wait "$server" 2>/dev/null || true
done

python3 - "$out" "$scenario" "$db" "$runs" <<'PY'
import json, statistics, sys
out, scenario, db, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
reports = [json.load(open(f"{out}/{scenario}-{db}-{n}.json")) for n in range(1, runs + 1)]
def col(f, worst=max):
    xs = [f(r) for r in reports]
    return f"{statistics.median(xs):.1f} / {worst(xs):.1f}"
def worst_second(r, key):
    ps = [s["p99_ms"][key] for s in r["seconds"] if s["phase"] == "converse"]
    return max(ps) if ps else 0.0
errors = sum(sum(r["errors"].values()) for r in reports)
if scenario == "burst":
    print("| runs | assign p50 | assign p99 | assign max | chats routed/s | errors |")
    print(f"| {runs} | {col(lambda r: r['latency_ms']['assign']['p50'])} "
          f"| {col(lambda r: r['latency_ms']['assign']['p99'])} "
          f"| {col(lambda r: r['latency_ms']['assign']['max'])} "
          f"| {col(lambda r: r['chats_routed_per_sec'], min)} | {errors} |")
else:
    d = lambda k: (lambda r: r["latency_ms"]["deliver"][k])
    print("| runs | msgs acked/s | deliver p50 | p99 | p99.9 | max | worst second's p99 | errors |")
    print(f"| {runs} | {col(lambda r: r['messages_per_sec'], min)} | {col(d('p50'))} | {col(d('p99'))} "
          f"| {col(d('p999'))} | {col(d('max'))} | {col(lambda r: worst_second(r, 'deliver'))} "
          f"| {errors} |")
print("(each cell: median / worst of the runs; latencies in ms)")
PY
