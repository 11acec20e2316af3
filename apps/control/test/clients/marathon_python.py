"""Drives a real Atoll cluster with marathon-python (thefactory/marathon-python, Debian's
python3-marathon), the way its users do, and prints one JSON document of what each call returned.

Run by apps/control/test/marathon-python.test.ts with Debian's interpreter. Every response goes
through the client's own models (MarathonResource.from_json), so a field Atoll emits that Marathon
never had, or a field shaped differently, fails here. Every log record of WARNING or above and
every Python warning is collected and reported: the test expects none beyond the "Got HTTP …"
errors of the calls that are meant to fail.

Environment: ATOLL_URL, ATOLL_TOKEN (an API token), ATOLL_PASSWORD (the admin's), TEST_IMAGE.
"""

import json
import logging
import os
import sys
import threading
import time
import warnings

RECORDS = []


class Collect(logging.Handler):
    def emit(self, record):
        RECORDS.append({"logger": record.name, "level": record.levelname, "message": record.getMessage()})


logging.captureWarnings(True)
logging.getLogger().addHandler(Collect(level=logging.WARNING))
logging.getLogger().setLevel(logging.WARNING)
warnings.simplefilter("always")

import marathon  # noqa: E402  (after the log capture, so import-time warnings are seen too)
from marathon import MarathonClient  # noqa: E402
from marathon.exceptions import MarathonHttpError, NotFoundError  # noqa: E402
from marathon.models import MarathonApp, MarathonGroup, MarathonHealthCheck  # noqa: E402
from marathon.models.container import MarathonContainer, MarathonContainerPortMapping  # noqa: E402
from marathon.models.app import MarathonUpgradeStrategy  # noqa: E402
from marathon.models.events import (  # noqa: E402
    MarathonApiPostEvent,
    MarathonDeploymentInfo,
    MarathonDeploymentSuccess,
    MarathonEvent,
    MarathonEventStreamAttached,
    MarathonStatusUpdateEvent,
)
from marathon.models.deployment import MarathonDeploymentPlan  # noqa: E402

URL = os.environ["ATOLL_URL"]
TOKEN = os.environ["ATOLL_TOKEN"]
PASSWORD = os.environ["ATOLL_PASSWORD"]
IMAGE = os.environ["TEST_IMAGE"]

# DC/OS's token auth (Authorization: token=…) for the REST calls.
client = MarathonClient(URL, auth_token=TOKEN)
# event_stream() sends no auth_token, only HTTP Basic: Marathon's own --http_credentials.
basic = MarathonClient(URL, username="admin", password=PASSWORD)

RESULTS = {}


def record(name, value):
    RESULTS[name] = value
    return value


def wait_for(what, get, check, timeout=120):
    """Polls get() until check(value); bounded, fails with the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = get()
        if check(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last: {value!r}"[:2000])
        time.sleep(0.25)


def no_deployments():
    return wait_for("no deployments", client.list_deployments, lambda d: d == [])


def expect_http_error(name, call, status):
    """A call meant to fail: the client raises MarathonHttpError with `status` and logs one
    "Got HTTP …" error, which is taken out of the collected records."""
    before = len(RECORDS)
    try:
        call()
    except MarathonHttpError as e:
        assert e.status_code == status, (name, e.status_code, e.error_message)
        logged = RECORDS[before:]
        del RECORDS[before:]
        assert [r for r in logged if not r["message"].startswith(f"Got HTTP {status}")] == [], logged
        return record(name, {"status": e.status_code, "message": e.error_message})
    raise AssertionError(f"{name}: expected HTTP {status}")


def web_app(**extra):
    """httpd in the busybox test image, bridged, with an HTTP health check."""
    return MarathonApp(
        cmd="mkdir -p /www && echo hello > /www/index.html && exec httpd -f -p 8080 -h /www",
        cpus=0.05,
        mem=16,
        instances=1,
        container=MarathonContainer(
            docker={"image": IMAGE},
            port_mappings=[MarathonContainerPortMapping(container_port=8080, host_port=0, name="http")],
        ),
        networks=[{"mode": "container/bridge"}],
        health_checks=[
            MarathonHealthCheck(
                protocol="HTTP",
                path="/",
                port_index=0,
                grace_period_seconds=10,
                interval_seconds=1,
                timeout_seconds=1,
                max_consecutive_failures=3,
            )
        ],
        labels={"team": "atoll", "tier": "web"},
        env={"GREETING": "hello"},
        upgrade_strategy=MarathonUpgradeStrategy(minimum_health_capacity=0.5, maximum_over_capacity=0.5),
        **extra,
    )


def running_healthy(app_id, count):
    def get():
        return client.get_app(app_id)

    def ok(app):
        healthy = [
            t
            for t in app.tasks
            if t.state == "TASK_RUNNING" and t.health_check_results and all(h.alive for h in t.health_check_results)
        ]
        return len(healthy) == count and len(app.tasks) == count

    return wait_for(f"{count} healthy task(s) of {app_id}", get, ok)


# ---- events: a listener started first, so it sees the changes below ----
events = []
events_done = threading.Event()
WANTED_EVENTS = {"event_stream_attached", "api_post_event", "deployment_info", "status_update_event", "deployment_success"}


def listen():
    try:
        for e in basic.event_stream():
            events.append(e)
            if WANTED_EVENTS <= {x.event_type for x in events}:
                break
    except Exception as e:  # reported through the results
        events.append(e)
    events_done.set()


threading.Thread(target=listen, daemon=True).start()
filtered = []


def listen_filtered():
    try:
        for e in basic.event_stream(event_types=[MarathonDeploymentSuccess]):
            filtered.append(e)
            break
    except Exception as e:
        filtered.append(e)


threading.Thread(target=listen_filtered, daemon=True).start()
raw = []


def listen_raw():
    try:
        for e in basic.event_stream(raw=True):
            raw.append(e)
            if len(raw) >= 2:
                break
    except Exception as e:
        raw.append(e)


threading.Thread(target=listen_raw, daemon=True).start()
time.sleep(1)  # let the streams attach before the first change

# ---- server ----
record("ping", client.ping().decode())
assert RESULTS["ping"] == "pong"
info = client.get_info()
record("get_info", {"name": info.name, "version": info.version, "elected": info.elected, "leader": info.leader,
                    "http_port": info.http_config.http_port, "buildref": info.buildref})
record("get_leader", client.get_leader())
metrics = client.get_metrics()
record("get_metrics", {"keys": sorted(metrics.keys()), "apps": metrics["gauges"].get("atoll_apps")})

# ---- apps ----
created = client.create_app("/mp/web", web_app())
assert isinstance(created, MarathonApp), created
record("create_app", {"id": created.id, "instances": created.instances, "deployments": len(created.deployments),
                      "container_image": created.container.docker.image})
app = running_healthy("/mp/web", 1)
no_deployments()
full = client.get_app("/mp/web", embed_tasks=True, embed_counts=True, embed_deployments=True, embed_readiness=True,
                      embed_last_task_failure=True, embed_failures=True, embed_task_stats=True)
task = full.tasks[0]
record("get_app", {
    "id": full.id, "tasks_running": full.tasks_running, "tasks_healthy": full.tasks_healthy,
    "version": full.version, "last_config_change_at": full.version_info.last_config_change_at.isoformat(),
    "task_stats_running": full.task_stats.total_summary.stats.counts.running,
    "labels": full.labels, "health_check_protocol": full.health_checks[0].protocol,
    "task": {"id": task.id, "state": task.state, "host": task.host, "ports": task.ports,
             "service_ports": task.service_ports, "slave_id": task.slave_id,
             "alive": [h.alive for h in task.health_check_results]},
})
listed = client.list_apps()
record("list_apps", [a.id for a in listed])
with_tasks = client.list_apps(embed_tasks=True)
record("list_apps_embed_tasks", {a.id: len(a.tasks) for a in with_tasks})
record("list_apps_filtered", {
    "app_id": [a.id for a in client.list_apps(app_id="MP/W")],
    "cmd": [a.id for a in client.list_apps(cmd="httpd")],
    "label": [a.id for a in client.list_apps(label="team==atoll,tier in (web, db)")],
    "label_none": [a.id for a in client.list_apps(label="team!=atoll")],
})

# ---- tasks ----
tasks = client.list_tasks()
record("list_tasks", [{"id": t.id, "app_id": t.app_id, "state": t.state} for t in tasks])
record("list_tasks_app", [t.id for t in client.list_tasks("/mp/web")])
endpoints = client.list_endpoints()
record("list_endpoints", [{"app_id": e.app_id, "host": e.host, "task_port": e.task_port,
                           "service_port": e.service_port} for e in endpoints])

# ---- update: what a user does, read the app back, change it, send it whole ----
app = client.get_app("/mp/web")
app.env["GREETING"] = "bonjour"
updated = client.update_app("/mp/web", app)
record("update_app", sorted(updated.keys()))
no_deployments()
running_healthy("/mp/web", 1)
assert client.get_app("/mp/web").env["GREETING"] == "bonjour"

versions = client.list_versions("/mp/web")
record("list_versions", len(versions))
first = client.get_version("/mp/web", versions[-1])
record("get_version", {"env": first.env, "version": first.version})

record("scale_app", sorted(client.scale_app("/mp/web", instances=2).keys()))
running_healthy("/mp/web", 2)
no_deployments()
record("scale_app_delta", sorted(client.scale_app("/mp/web", delta=-1).keys()))
running_healthy("/mp/web", 1)
no_deployments()

restarted = client.restart_app("/mp/web")
record("restart_app", sorted(restarted.keys()))
no_deployments()
running_healthy("/mp/web", 1)

rolled = client.rollback_app("/mp/web", versions[-1])
record("rollback_app", sorted(rolled.keys()))
no_deployments()
running_healthy("/mp/web", 1)
assert client.get_app("/mp/web").env["GREETING"] == "hello"

multi = client.update_apps([MarathonApp(id="/mp/web", instances=2)])
record("update_apps", sorted(multi.keys()))
running_healthy("/mp/web", 2)
no_deployments()

# ---- killing tasks ----
victim = client.list_tasks("/mp/web")[0]
killed = client.kill_task("/mp/web", victim.id)
record("kill_task", {"id": killed.id, "same": killed.id == victim.id})
wait_for("the task to be replaced", lambda: [t.id for t in client.list_tasks("/mp/web")],
         lambda ids: victim.id not in ids and len(ids) == 2)
running_healthy("/mp/web", 2)
one = client.list_tasks("/mp/web")[0]
record("kill_given_tasks", client.kill_given_tasks([one.id], scale=True))
wait_for("one instance", lambda: client.get_app("/mp/web"), lambda a: a.instances == 1 and len(a.tasks) == 1)
no_deployments()
all_killed = client.kill_tasks("/mp/web", scale=False)
record("kill_tasks", [t.app_id for t in all_killed])
record("kill_tasks_other_host", client.kill_tasks("/mp/web", host="no-such-host"))
running_healthy("/mp/web", 1)
no_deployments()

# ---- the launch queue and deployments that cannot finish ----
huge = MarathonApp(cmd="sleep 600", cpus=10000, mem=16, instances=1)
client.create_app("/mp/huge", huge)
# The entry shows as soon as the app waits; why it waits comes with the scheduler's next pass.
queue = wait_for("a queue entry with the scheduler's reasons", client.list_queue,
                 lambda q: any(i.app.id == "/mp/huge" and i.processed_offers_summary["rejectSummaryLastOffers"]
                               for i in q))
item = next(i for i in queue if i.app.id == "/mp/huge")
record("list_queue", {"app": item.app.id, "count": item.count, "overdue": item.delay.overdue,
                      "reasons": [r["reason"] for r in item.processed_offers_summary["rejectSummaryLastOffers"]]})
record("list_queue_offers", [i.last_unused_offers for i in client.list_queue(embed_last_unused_offers=True)])
client.reset_delay("/mp/huge")
record("reset_delay", True)
deployments = client.list_deployments()
stuck = next(d for d in deployments if "/mp/huge" in d.affected_apps)
record("list_deployments", {"affected_apps": stuck.affected_apps, "current_step": stuck.current_step,
                            "total_steps": stuck.total_steps,
                            "actions": [a.action for s in stuck.steps for a in s.actions],
                            "current_actions": [a.action for a in stuck.current_actions]})
rollback = client.delete_deployment(stuck.id)
record("delete_deployment", sorted(rollback.keys()))
# A new app's rollback removes it.
wait_for("/mp/huge to be gone", lambda: [a.id for a in client.list_apps()], lambda ids: "/mp/huge" not in ids)
no_deployments()
client.create_app("/mp/huge", huge)
stuck = wait_for("its deployment", client.list_deployments, lambda d: any("/mp/huge" in x.affected_apps for x in d))
record("delete_deployment_force", client.delete_deployment(stuck[0].id, force=True))
record("delete_app_forced", sorted(client.delete_app("/mp/huge", force=True).keys()))
wait_for("/mp/huge to be gone", lambda: [a.id for a in client.list_apps()], lambda ids: "/mp/huge" not in ids)

# ---- groups ----
group = MarathonGroup(
    id="/mp-group",
    apps=[MarathonApp(id="/mp-group/db", cmd="sleep 600", cpus=0.01, mem=8, instances=1)],
    groups=[MarathonGroup(id="/mp-group/web", apps=[
        MarathonApp(id="/mp-group/web/api", cmd="sleep 600", cpus=0.01, mem=8, instances=1,
                    dependencies=["/mp-group/db"]),
    ])],
)
record("create_group", sorted(client.create_group(group).keys()))
no_deployments()
groups = client.list_groups()
record("list_groups", [g.id for g in groups])
got = client.get_group("/mp-group")
record("get_group", {"id": got.id, "apps": [a.id for a in got.apps], "groups": [g.id for g in got.groups],
                     "nested_apps": [a.id for g in got.groups for a in g.apps]})
record("scale_group", sorted(client.scale_group("/mp-group", 2).keys()))
wait_for("the group scaled", lambda: client.get_group("/mp-group"),
         lambda g: [a.instances for a in g.apps] == [2] and [a.instances for a in g.groups[0].apps] == [2])
no_deployments()
record("update_group", sorted(client.update_group("/mp-group", MarathonGroup(id="/mp-group", apps=[
    MarathonApp(id="/mp-group/db", cmd="sleep 601", cpus=0.01, mem=8, instances=1)])).keys()))
no_deployments()
record("delete_group", sorted(client.delete_group("/mp-group", force=True).keys()))
wait_for("the group to be gone", lambda: [a.id for a in client.list_apps()],
         lambda ids: not any(i.startswith("/mp-group/") for i in ids))
expect_http_error("get_group_gone", lambda: client.get_group("/mp-group"), 404)

# ---- what Marathon itself does not serve (or no longer) ----
expect_http_error("list_event_subscriptions", client.list_event_subscriptions, 404)
expect_http_error("create_event_subscription", lambda: client.create_event_subscription("http://127.0.0.1:9/cb"), 404)
expect_http_error("delete_event_subscription", lambda: client.delete_event_subscription("http://127.0.0.1:9/cb"), 404)
expect_http_error("get_app_missing", lambda: client.get_app("/mp/missing"), 404)
expect_http_error("create_app_invalid", lambda: client.create_app("/mp/bad", MarathonApp(cmd="sleep 1", cpus=-1)), 422)
record("create_app_invalid_details", client.session.request(
    "POST", URL + "/v2/apps", data=json.dumps({"id": "/mp/bad", "cmd": "x", "cpus": -1}),
    headers={"Authorization": f"token={TOKEN}", "Content-Type": "application/json"}).json()["details"])

# ---- events ----
assert events_done.wait(120), f"events seen: {[getattr(e, 'event_type', e) for e in events]}"
bad = [e for e in events if not isinstance(e, MarathonEvent)]
assert bad == [], bad
plans = [e.plan for e in events if isinstance(e, MarathonDeploymentInfo)]
assert all(isinstance(p, MarathonDeploymentPlan) for p in plans), plans
record("event_stream", {
    "types": sorted({e.event_type for e in events}),
    "attached": any(isinstance(e, MarathonEventStreamAttached) for e in events),
    "api_post_apps": sorted({e.app_definition["id"] for e in events if isinstance(e, MarathonApiPostEvent)}),
    "deployment_info_target_apps": sorted({a["id"] for p in plans for a in p.target.apps}),
    "status_updates": sorted({e.task_status for e in events if isinstance(e, MarathonStatusUpdateEvent)}),
})
wait_for("the filtered stream", lambda: list(filtered), lambda f: len(f) > 0, timeout=30)
record("event_stream_filtered", [getattr(e, "event_type", repr(e)) for e in filtered])
wait_for("the raw stream", lambda: list(raw), lambda r: len(r) >= 2, timeout=30)
record("event_stream_raw", [json.loads(r)["eventType"] for r in raw])

# ---- leadership, last: the reconciler pauses until the next election ----
record("delete_leader", client.delete_leader())


def leader_or_none():
    before = len(RECORDS)
    try:
        return client.get_leader()
    except NotFoundError:
        del RECORDS[before:]  # "Got HTTP 404": no leader during the election
        return None


record("get_leader_after", wait_for("a leader again", leader_or_none, lambda v: v is not None, timeout=60))
record("delete_app", sorted(client.delete_app("/mp/web", force=True).keys()))
wait_for("/mp/web to be gone", lambda: [a.id for a in client.list_apps()], lambda ids: "/mp/web" not in ids)

print(json.dumps({"results": RESULTS, "records": RECORDS}, default=str))
sys.stdout.flush()
