# Times one page of the delivery log, of the webhook request log and of the CallbackRegistry
# with 100,000 rows each (issue 12: the views page through 100,000 rows without loading them
# all).
# usage: python3 tests/bench/page100k.py target/release/baton   (needs the sqlite3 shell)
import http.client, json, os, re, statistics, subprocess, sys, tempfile, time
baton = sys.argv[1]
d = tempfile.mkdtemp()
db = os.path.join(d, "b.db")
p = subprocess.Popen([baton, "serve", "--db", db, "--listen", "127.0.0.1:0", "--token", "bench-token-0123456789"],
                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
addr = None
for line in p.stdout:
    m = re.search(r"on http://([0-9.:]+)", line)
    if m:
        addr = m.group(1); break
host, port = addr.split(":")
sql = """.timeout 20000
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
INSERT INTO deliveries (id, subscription_id, event_name, payload, url, status, attempts, last_status_code, created_at, delivered_at, instance_guid, sequence)
SELECT printf('bulk-%06d', i), 1, CASE i % 3 WHEN 0 THEN 'workflow.completed' ELSE 'workflow.state.changed' END,
       '{"bulk": ' || i || '}', 'https://receiver.example/events', 'Delivered', 1, 200,
       '2026-11-30T00:00:00.000000Z', '2026-11-30T00:00:01.000000Z', printf('inst-%05d', i / 2), i % 2 + 1 FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
INSERT INTO webhook_requests (id, received_at, method, path, remote_addr, verdict, status_code, error, size)
SELECT i, '2026-11-30T00:00:00.000000Z', 'POST', printf('/webhook/bulk/%06d', i), '127.0.0.1',
       CASE i % 10 WHEN 0 THEN 'badSignature' ELSE 'notFound' END, CASE i % 10 WHEN 0 THEN 401 ELSE 404 END, 'bulk', 2 FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
INSERT INTO callback_registry (parent_instance_id, callback_task_id, correlation_key, status, created_at)
SELECT printf('inst-%05d', i / 2), 'Task_WaitForPayment', printf('PAY-%06d', i),
       CASE i % 4 WHEN 0 THEN 'Pending' ELSE 'Completed' END, '2026-11-30T00:00:00.000000Z' FROM n;
"""
subprocess.run(["sqlite3", db], input=sql, text=True, check=True)
def ask(cmd, data):
    c = http.client.HTTPConnection(host, int(port))
    body = json.dumps({"cmd": cmd, "data": data})
    t = time.perf_counter()
    c.request("POST", "/api/v1/execute", body, {"Content-Type": "application/json", "Authorization": "Bearer bench-token-0123456789"})
    r = json.loads(c.getresponse().read())
    ms = (time.perf_counter() - t) * 1000
    assert r["isSuccessful"], r
    return ms, r["data"]
cases = [
    ("deliveries, page 1 of 1,000", "GetDeliveryListQuery", {"pageNumber": 1, "pageSize": 100}),
    ("deliveries, page 1,000 of 1,000", "GetDeliveryListQuery", {"pageNumber": 1000, "pageSize": 100}),
    ("deliveries, one event (33,333 rows), page 1", "GetDeliveryListQuery", {"eventName": "workflow.completed", "pageSize": 100}),
    ("deliveries, one instance", "GetDeliveryListQuery", {"instanceGuid": "inst-00042", "pageSize": 100}),
    ("requests, page 1 of 1,000", "GetWebhookRequestListQuery", {"pageNumber": 1, "pageSize": 100}),
    ("requests, page 1,000 of 1,000", "GetWebhookRequestListQuery", {"pageNumber": 1000, "pageSize": 100}),
    ("requests, one verdict (10,000 rows), page 1", "GetWebhookRequestListQuery", {"verdict": "badSignature", "pageSize": 100}),
    ("callbacks, page 1 of 2,000", "GetCallbackRegistryListQuery", {"pageNumber": 1, "pageSize": 50}),
    ("callbacks, page 2,000 of 2,000", "GetCallbackRegistryListQuery", {"pageNumber": 2000, "pageSize": 50}),
    ("callbacks, Pending (25,000 rows), page 1", "GetCallbackRegistryListQuery", {"status": "Pending", "pageSize": 50}),
    ("callbacks, part of a key (10 rows)", "GetCallbackRegistryListQuery", {"correlationKey": "pay-04200", "pageSize": 50}),
    ("callbacks, one instance, unpaged", "GetCallbackRegistryListQuery", {"instanceGuid": "inst-04242"}),
    ("callbacks, all 100,000, unpaged", "GetCallbackRegistryListQuery", {}),
]
try:
    for label, cmd, data in cases:
        ms = [ask(cmd, data)[0] for _ in range(11)]
        answer = ask(cmd, data)[1]
        n = len(answer["items"] if isinstance(answer, dict) else answer)
        print(f"| {label} | {n} | {statistics.median(ms):.1f} | {min(ms):.1f}-{max(ms):.1f} |")
finally:
    p.terminate()
