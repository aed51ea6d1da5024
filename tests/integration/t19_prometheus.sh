# ternd and tern-worker serve Prometheus metrics (--metrics HOST:PORT): the
# /metrics text parses as the exposition format 0.0.4 and agrees with
# 'tern queue' and 'tern nodes'; a real Prometheus server scrapes them and
# answers tern_jobs{state="running"} as 'tern queue' counts; bad addresses,
# a port in use, other paths and malformed requests are refused and the
# daemons go on.
. "$(dirname "$0")/lib.sh"

PROMETHEUS=${PROMETHEUS:-/usr/bin/prometheus}
[ -x "$PROMETHEUS" ] || fail "$PROMETHEUS not found: Prometheus is a test dependency" \
    "(scripts/install-deps.sh installs Debian's prometheus)"

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# http_code URL [CURL ARGS...]: the status of a request.
http_code() { local u=$1; shift; curl -s -m 5 -o /dev/null -w '%{http_code}' "$@" "$u"; }

expect_error "ternd --metrics without a port" "metrics 'localhost': expected HOST:PORT" \
    ternd --state "$T/bad.db" --metrics localhost
expect_error "ternd --metrics port out of range" "metrics '127.0.0.1:65536'" \
    ternd --state "$T/bad.db" --metrics 127.0.0.1:65536
expect_error "tern-worker --metrics bad" "metrics ':9400': expected HOST:PORT" \
    tern-worker --scheduler tcp://127.0.0.1:1 --metrics :9400

ternd_local --metrics 127.0.0.1:0
murl=$(sed -n 's/^metrics=//p' "$T/ep")
echo "$murl" | grep -qE '^http://127\.0\.0\.1:[1-9][0-9]*/metrics$' \
    || fail "endpoints file: metrics='$murl' $(cat "$T/ep")"
grep -qF "serving metrics on $murl" "$T/ternd.log" || fail "ternd did not log $murl"
ok "ternd --metrics 127.0.0.1:0 serves $murl (endpoints file and log)"

mport=${murl##*:}
mport=${mport%/metrics}
expect_error "a second ternd on the same metrics port" "127.0.0.1:$mport: Address already in use" \
    ternd --state "$T/other.db" --client tcp://127.0.0.1:0 --worker tcp://127.0.0.1:0 \
    --metrics "127.0.0.1:$mport"

two_workers "$T" --metrics 127.0.0.1:0
nodes_up 2
wurls=""
for n in node1 node2; do
    u=$(grep -o 'serving metrics on http://[^ ]*/metrics' "$T/$n.log" | cut -d' ' -f4)
    [ -n "$u" ] || fail "$n did not log its metrics URL: $(cat "$T/$n.log")"
    wurls="$wurls $u"
done

# One job done, one running for good, one that cannot fit beside it.
done_id=$(tern submit --parsable -- true) || fail "submit"
tern wait "$done_id" --timeout 30 >/dev/null || fail "job $done_id"
run_id=$(tern submit --parsable -- sleep 300) || fail "submit"
wait_for 20 state_is "$run_id" R || fail "job $run_id did not start"
pend_id=$(tern submit --parsable -N 2 --ntasks-per-node 2 -- true) || fail "submit"
wait_for 10 sh -c "tern queue | grep -qE '^ *$pend_id .* PD .*\(Resources\)'" \
    || fail "job $pend_id is not waiting for resources: $(tern queue)"

# check.py METRICS.txt QUEUE.json NODES.json: the text parses (every sample
# after its family's HELP and TYPE, histograms cumulative up to +Inf =
# _count) and its gauges match tern queue --all and tern nodes.
cat >"$T/check.py" <<'EOF'
import json, math, re, sys

text = open(sys.argv[1]).read()
queue = json.load(open(sys.argv[2]))["jobs"]
nodes = json.load(open(sys.argv[3]))["nodes"]
sample_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
label_re = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')
types, helps, samples = {}, {}, {}
assert text.endswith("\n"), "text does not end with a newline"
for line in text.splitlines():
    if line.startswith("# HELP "):
        name, _, help_ = line[7:].partition(" ")
        helps[name] = help_
        continue
    if line.startswith("# TYPE "):
        name, _, t = line[7:].partition(" ")
        assert t in ("counter", "gauge", "histogram", "summary", "untyped"), line
        assert name in helps and name not in types, "TYPE out of place: " + line
        types[name] = t
        continue
    assert not line.startswith("#") and line.strip(), "stray line: %r" % line
    m = sample_re.match(line)
    assert m, "not a sample: %r" % line
    name, labels, value = m.group(1), m.group(3) or "", m.group(4)
    pairs = label_re.findall(labels)
    assert "".join('%s="%s"%s' % p for p in pairs) == labels, "labels: %r" % line
    family = re.sub(r'_(bucket|sum|count)$', '', name) if name not in types else name
    assert family in types, "sample before its TYPE: %r" % line
    float(value)    # +Inf, NaN and numbers all parse
    key = (name, tuple((k, v) for k, v, _ in pairs))
    assert key not in samples, "duplicate sample: %r" % line
    samples[key] = float(value)

def get(name, **labels):
    return samples[(name, tuple(labels.items()))]

for fam, t in types.items():
    if t != "histogram":
        continue
    buckets = sorted(((float(dict(k[1])["le"]), v) for k, v in samples.items()
                      if k[0] == fam + "_bucket"), key=lambda b: b[0])
    assert buckets and math.isinf(buckets[-1][0]), fam + ": no +Inf bucket"
    assert all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:])), fam + ": not cumulative"
    assert buckets[-1][1] == get(fam + "_count"), fam + ": +Inf bucket != _count"
    get(fam + "_sum")

names = {"PD": "pending", "R": "running", "CG": "completing", "CD": "completed",
         "F": "failed", "CA": "cancelled", "TO": "timeout", "PR": "preempted",
         "NF": "node_fail"}
want = {n: 0 for n in names.values()}
for j in queue:
    want[names[j["state"]]] += 1
got = {s: get("tern_jobs", state=s) for s in names.values()}
assert got == want, "tern_jobs %s, tern queue says %s" % (got, want)
assert get("tern_jobs_submitted_total") == len(queue), "submitted"
up = sum(n["state"] == "UP" for n in nodes)
assert get("tern_nodes", state="up") == up == 2, "nodes up"
assert get("tern_cpus", state="allocated") == 1, "cpus allocated"
assert get("tern_cpus", state="free") == 3, "cpus free"
assert get("tern_gpus", state="allocated") == 0 and get("tern_gpus", state="free") == 0
for fam in ("tern_job_restarts_total", "tern_job_preemptions_total"):
    assert types[fam] == "counter" and get(fam) == 0, fam
assert types["tern_queue_wait_seconds"] == "histogram"
assert types["tern_schedule_pass_seconds"] == "histogram"
assert get("tern_schedule_pass_seconds_count") >= 1, "no scheduling pass observed"
assert get("tern_queue_wait_seconds_count") == 2, "queue waits observed"
EOF
metrics_match() {
    curl -s -m 5 -o "$T/metrics.txt" "$murl" &&
        tern queue --all --json >"$T/queue.json" && tern nodes --json >"$T/nodes.json" &&
        python3 "$T/check.py" "$T/metrics.txt" "$T/queue.json" "$T/nodes.json"
}
# (the snapshot is rebuilt once a second)
if ! wait_for 10 metrics_match; then
    metrics_match
    fail "ternd's /metrics: $(cat "$T/metrics.txt")"
fi
ok "ternd's /metrics parses and matches tern queue: $(grep '^tern_jobs{' "$T/metrics.txt" | grep -v ' 0$' | tr '\n' ' ')"

for u in $wurls; do
    curl -s -m 5 "$u" >"$T/wmetrics.txt" || fail "GET $u"
    grep -qE '^tern_worker_up\{node="node[12]"\} 1$' "$T/wmetrics.txt" \
        && grep -qE '^tern_worker_ranks_running\{node="node[12]"\} [0-9]+$' "$T/wmetrics.txt" \
        && grep -q '^# TYPE tern_worker_ranks_running gauge$' "$T/wmetrics.txt" \
        || fail "worker metrics at $u: $(cat "$T/wmetrics.txt")"
    ! grep -q '^tern_worker_gpu' "$T/wmetrics.txt" || fail "GPU metrics without a GPU: $u"
done
workers_ranks_are() {
    local u r sum=0
    for u in $wurls; do
        r=$(curl -s -m 5 "$u" | sed -n 's/^tern_worker_ranks_running{[^}]*} //p')
        sum=$((sum + ${r:-0}))
    done
    [ "$sum" = "$1" ]
}
wait_for 5 workers_ranks_are 1 || fail "the workers' tern_worker_ranks_running do not add up to 1"
ok "workers serve tern_worker_up and tern_worker_ranks_running (no GPU here: no GPU metrics)"

# Other paths, other methods, malformed requests: refused; ternd goes on.
base=${murl%/metrics}
[ "$(http_code "$base/")" = 404 ] || fail "GET / is not 404"
[ "$(http_code "$base/metrics/x")" = 404 ] || fail "GET /metrics/x is not 404"
[ "$(http_code "$murl" -X POST -d x=1)" = 405 ] || fail "POST /metrics is not 405"
python3 - "$mport" <<'EOF' || fail "malformed requests"
import socket, sys
addr = ("127.0.0.1", int(sys.argv[1]))
for junk in (b"GARBAGE\r\n\r\n", b"GET /metrics HTTP/9.9\r\n\r\n",
             b"GET /" + b"A" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"):
    s = socket.create_connection(addr, timeout=5)
    s.sendall(junk)
    reply = s.recv(100)
    s.close()
    assert reply == b"" or reply[:10] in (b"HTTP/1.1 4", b"HTTP/1.1 5"), (junk[:20], reply)
# A client that sends binary junk and stalls holds up no one else.
stalled = socket.create_connection(addr, timeout=5)
stalled.sendall(b"\x00\xff" * 300)
s = socket.create_connection(addr, timeout=5)
s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
reply = s.recv(100)
assert reply.startswith(b"HTTP/1.1 200"), reply
s.close()
stalled.close()
EOF
alive "$TERND_PID" || fail "ternd died on bad HTTP requests"
[ "$(http_code "$murl")" = 200 ] || fail "GET /metrics after bad requests"
tern queue >/dev/null || fail "ternd does not answer after bad HTTP requests"
ok "other paths 404, POST 405, malformed requests refused, a stalled client blocks no one; ternd serves on"

# A real Prometheus server scrapes ternd and the workers every second.
pport=$(free_port)
{
    echo "global: {scrape_interval: 1s, evaluation_interval: 1s}"
    echo "scrape_configs:"
    echo "  - job_name: ternd"
    echo "    static_configs: [{targets: ['127.0.0.1:$mport']}]"
    echo "  - job_name: tern-worker"
    echo "    static_configs: [{targets: [$(for u in $wurls; do u=${u#http://}; printf "'%s'," "${u%/metrics}"; done | sed 's/,$//')]}]"
} >"$T/prometheus.yml"
"$PROMETHEUS" --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/prometheus-data" \
    --web.listen-address="127.0.0.1:$pport" >"$T/prometheus.log" 2>&1 &
prom_pid=$!
PIDS="$PIDS $prom_pid"
papi="http://127.0.0.1:$pport"
wait_for 60 sh -c "curl -sf -m 2 $papi/-/ready" \
    || fail "prometheus not ready within 60 s: $(tail -n 20 "$T/prometheus.log")"

# query PROMQL: the value of its single result, or nothing.
query() {
    curl -sf -m 5 -G "$papi/api/v1/query" --data-urlencode "query=$1" | python3 -c '
import json, sys
r = json.load(sys.stdin)["data"]["result"]
if len(r) == 1:
    print(r[0]["value"][1])'
}
queue_running() {
    tern queue --json | python3 -c '
import json, sys
print(sum(j["state"] == "R" for j in json.load(sys.stdin)["jobs"]))'
}
scraped_running_matches() {
    local got want
    got=$(query 'tern_jobs{state="running"}')
    want=$(queue_running)
    echo "prometheus: $got, tern queue: $want" >"$T/prom-compare"
    [ -n "$got" ] && [ "$got" = "$want" ]
}
wait_for 60 scraped_running_matches \
    || fail "Prometheus's tern_jobs{state=\"running\"} vs tern queue: $(cat "$T/prom-compare");" \
            "targets: $(curl -s "$papi/api/v1/targets")"
ok "Prometheus scrapes ternd: tern_jobs{state=\"running\"} = $(query 'tern_jobs{state="running"}'), as tern queue counts"

wait_for 30 sh -c "[ \"\$(curl -sf -G $papi/api/v1/query --data-urlencode 'query=count(up == 1)' \
    | python3 -c 'import json,sys; r=json.load(sys.stdin)[\"data\"][\"result\"]; print(r[0][\"value\"][1] if r else 0)')\" = 3 ]" \
    || fail "not every target is up: $(curl -s "$papi/api/v1/targets")"
[ "$(query 'sum(tern_worker_up)')" = 2 ] || fail "sum(tern_worker_up) = $(query 'sum(tern_worker_up)')"
[ "$(query 'tern_nodes{state="up"}')" = 2 ] || fail "tern_nodes{state=\"up\"} in Prometheus"
ok "Prometheus: ternd and both workers up, sum(tern_worker_up) = 2, tern_nodes{state=\"up\"} = 2"

# Every query of the Grafana dashboard is PromQL this Prometheus accepts.
python3 - "$TESTS/../configs/grafana-dashboard.json" "$papi" <<'EOF' || fail "dashboard queries"
import json, sys, urllib.parse, urllib.request
dash = json.load(open(sys.argv[1]))
assert any(v["type"] == "datasource" and v["query"] == "prometheus"
           for v in dash["templating"]["list"]), "no Prometheus datasource variable"
exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
assert len(exprs) >= 10, exprs
for e in exprs:
    q = e.replace("$__rate_interval", "1m").replace("$job", ".*").replace("$node", ".*")
    url = sys.argv[2] + "/api/v1/query?" + urllib.parse.urlencode({"query": q})
    r = json.load(urllib.request.urlopen(url, timeout=5))
    assert r["status"] == "success", (e, r)
EOF
ok "the Grafana dashboard's $(grep -c '"expr"' "$TESTS/../configs/grafana-dashboard.json") queries are valid PromQL"

kill "$prom_pid"
prometheus_gone() { ! alive "$prom_pid"; }
wait_for 20 prometheus_gone || fail "prometheus did not stop on SIGTERM"
tern cancel "$run_id" "$pend_id" >/dev/null
alive "$TERND_PID" || fail "ternd died"
