"""Drives a real Atoll cluster with python3-dcos 0.2.0 (the DC/OS CLI's common modules: dcos.marathon,
dcos.package, dcos.http), the library under the `dcos marathon …` and `dcos package …` verbs of the
DC/OS CLI 0.x, configured as that CLI is: a TOML file named by DCOS_CONFIG. Prints one JSON document
of what each call returned. Every log record of WARNING or above and every Python warning is
collected and reported.

dcos.package 0.2.0 does not talk to Cosmos: it reads Universe repositories of the 1.x layout
(repo/meta/index.json, repo/packages/<L>/<name>/<revision>/…) into a local cache, renders the
package's marathon.json with its options and posts the app to Marathon with DCOS_PACKAGE_* labels.
So the package here comes from a small repository of that layout written to a temporary directory.

Environment: ATOLL_URL, ATOLL_TOKEN, ATOLL_PASSWORD, TEST_IMAGE, WORK_DIR (a temporary directory).
"""

import io
import json
import logging
import os
import sys
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
# Python 3.11 flags dcos's use of distutils (LooseVersion) as deprecated: the library's age, not
# something Atoll answered.
for message in ("The distutils package is deprecated", "distutils Version classes are deprecated"):
    warnings.filterwarnings("ignore", message=message, category=DeprecationWarning)

URL = os.environ["ATOLL_URL"]
TOKEN = os.environ["ATOLL_TOKEN"]
PASSWORD = os.environ["ATOLL_PASSWORD"]
IMAGE = os.environ["TEST_IMAGE"]
WORK = os.environ["WORK_DIR"]
HOST = URL.split("://", 1)[1]

# ---- a Universe repository of the 1.x layout, the only kind dcos.package 0.2.0 reads ----
PACKAGE = "atoll-web"
repo = os.path.join(WORK, "universe")
revision_dir = os.path.join(repo, "repo", "packages", "A", PACKAGE, "0")
os.makedirs(os.path.join(repo, "repo", "meta"))
os.makedirs(revision_dir)
package_json = {
    "name": PACKAGE,
    "version": "0.1.0",
    "maintainer": "atoll",
    "description": "A web server from the Atoll test image, installed by dcos.package",
    "tags": ["web", "httpd"],
    "framework": False,
    "postInstallNotes": "atoll-web is up",
}
with open(os.path.join(repo, "repo", "meta", "version.json"), "w") as f:
    json.dump({"version": "1.0.0"}, f)
with open(os.path.join(repo, "repo", "meta", "index.json"), "w") as f:
    json.dump({"version": "1.0.0", "packages": [{
        "name": PACKAGE, "currentVersion": "0.1.0", "versions": {"0.1.0": "0"},
        "description": package_json["description"], "framework": False, "tags": package_json["tags"],
    }]}, f)
with open(os.path.join(revision_dir, "package.json"), "w") as f:
    json.dump(package_json, f)
with open(os.path.join(revision_dir, "config.json"), "w") as f:
    json.dump({"type": "object", "properties": {PACKAGE: {"type": "object", "properties": {
        "name": {"type": "string", "default": "/atoll-web"},
        "greeting": {"type": "string", "default": "hello"},
        "instances": {"type": "integer", "minimum": 0, "default": 1},
        "cpus": {"type": "number", "minimum": 0, "default": 0.05},
    }, "required": ["name"]}}}, f)
with open(os.path.join(revision_dir, "marathon.json"), "w") as f:
    f.write("""{
  "id": "{{atoll-web.name}}",
  "cmd": "mkdir -p /www && echo {{atoll-web.greeting}} > /www/index.html && exec httpd -f -p 8080 -h /www",
  "cpus": {{atoll-web.cpus}},
  "mem": 16,
  "instances": {{atoll-web.instances}},
  "container": {
    "type": "DOCKER",
    "docker": {"image": "%s"},
    "portMappings": [{"containerPort": 8080, "hostPort": 0, "name": "http"}]
  },
  "networks": [{"mode": "container/bridge"}],
  "healthChecks": [{"protocol": "HTTP", "path": "/", "portIndex": 0, "gracePeriodSeconds": 10,
                    "intervalSeconds": 1, "timeoutSeconds": 1, "maxConsecutiveFailures": 3}]
}""" % IMAGE)

# ---- the CLI's configuration: Marathon at Atoll, credentials in the URL (sent as HTTP Basic) ----
config_path = os.path.join(WORK, "dcos.toml")
with open(config_path, "w") as f:
    f.write(f"""[core]
dcos_url = "http://admin:{TOKEN}@{HOST}/"
timeout = 30
[marathon]
url = "http://admin:{TOKEN}@{HOST}/"
[package]
sources = ["file://{repo}"]
cache = "{os.path.join(WORK, 'cache')}"
""")
os.environ["DCOS_CONFIG"] = config_path

from dcos import http, marathon, mesos, package, util  # noqa: E402
from dcos.errors import DCOSException  # noqa: E402

RESULTS = {}


def record(name, value):
    RESULTS[name] = value
    return value


def wait_for(what, get, check, timeout=120):
    deadline = time.monotonic() + timeout
    while True:
        value = get()
        if check(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last: {value!r}"[:2000])
        time.sleep(0.25)


def expect_error(name, call):
    """A call meant to fail: dcos raises DCOSException with Marathon's message."""
    try:
        call()
    except DCOSException as e:
        return record(name, str(e))
    raise AssertionError(f"{name}: expected a DCOSException")


config = util.get_config()
client = marathon.create_client(config)
no_deployments = lambda: wait_for("no deployments", client.get_deployments, lambda d: d == [])  # noqa: E731

record("get_about", {k: client.get_about()[k] for k in ("name", "version", "elected")})
record("get_version", str(client.get_version()))
record("get_leader", client.get_leader())

# ---- what `dcos marathon app add` does: validate against the app schema, check, add ----
app = {
    "id": "/dcos/web",
    "cmd": "mkdir -p /www && echo hi > /www/index.html && exec httpd -f -p 8080 -h /www",
    "cpus": 0.05,
    "mem": 16,
    "instances": 1,
    "container": {"type": "DOCKER", "docker": {"image": IMAGE},
                  "portMappings": [{"containerPort": 8080, "hostPort": 0, "name": "http"}]},
    "networks": [{"mode": "container/bridge"}],
    "labels": {"team": "atoll"},
}
schema = client.get_app_schema()
record("get_app_schema", {"schema": schema.get("$schema"), "type": schema.get("type"),
                          "valid_app_errors": util.validate_json(app, schema),
                          "quoted_number_errors": util.validate_json({**app, "cpus": "0.05"}, schema),
                          "bad_app_errors": len(util.validate_json({**app, "instances": -1}, schema))})
expect_error("get_app_missing", lambda: client.get_app(app["id"]))
record("add_app", sorted(client.add_app(app).keys())[:3])
no_deployments()
got = client.get_app("dcos/web")
record("get_app", {"id": got["id"], "instances": got["instances"], "tasksRunning": got["tasksRunning"],
                   "labels": got["labels"]})
record("get_apps", [a["id"] for a in client.get_apps()])
record("normalize_app_id", client.normalize_app_id("dcos/web/"))

# ---- `dcos marathon app update|start|stop|restart|show --app-version`, `version list` ----
record("update_app", bool(client.update_app("dcos/web", {"env": {"GREETING": "bonjour"}})))
no_deployments()
versions = client.get_app_versions("dcos/web")
record("get_app_versions", {"count": len(versions), "max_count_1": len(client.get_app_versions("dcos/web", 1))})
record("get_app_at_version", client.get_app("dcos/web", version=versions[-1]).get("env"))
record("scale_app", bool(client.scale_app("dcos/web", 2)))
wait_for("two tasks", lambda: client.get_tasks("dcos/web"), lambda t: len(t) == 2)
no_deployments()
record("stop_app", bool(client.stop_app("dcos/web")))
wait_for("no task", lambda: client.get_tasks("dcos/web"), lambda t: t == [])
no_deployments()
record("scale_app_again", bool(client.scale_app("dcos/web", 1, force=True)))
no_deployments()
restarted = client.restart_app("dcos/web", force=True)
record("restart_app", sorted(restarted.keys()))
no_deployments()

# ---- `dcos marathon task list|show` ----
tasks = client.get_tasks("dcos/web")
record("get_tasks", [{"appId": t["appId"], "state": t["state"], "ports": len(t["ports"])} for t in tasks])
record("get_tasks_all", len(client.get_tasks(None)))
record("get_task", client.get_task(tasks[0]["id"])["id"] == tasks[0]["id"])

# ---- `dcos marathon deployment list|rollback|stop` with a deployment that cannot finish ----
client.add_app({"id": "/dcos/huge", "cmd": "sleep 600", "cpus": 10000, "mem": 16})
deployment = wait_for("its deployment", lambda: client.get_deployments("dcos/huge"), lambda d: len(d) == 1)[0]
record("get_deployments", {"affectedApps": deployment["affectedApps"], "steps": len(deployment["steps"])})
record("get_deployment", client.get_deployment(deployment["id"])["id"] == deployment["id"])
record("rollback_deployment", sorted(client.rollback_deployment(deployment["id"]).keys()))
wait_for("/dcos/huge rolled back (removed)", lambda: [a["id"] for a in client.get_apps()],
         lambda ids: "/dcos/huge" not in ids)
client.add_app({"id": "/dcos/huge", "cmd": "sleep 600", "cpus": 10000, "mem": 16})
deployment = wait_for("its deployment", lambda: client.get_deployments("dcos/huge"), lambda d: len(d) == 1)[0]
record("stop_deployment", client.stop_deployment(deployment["id"]))
wait_for("no deployment of /dcos/huge", lambda: client.get_deployments("dcos/huge"), lambda d: d == [])
client.remove_app("dcos/huge", force=True)

# ---- `dcos marathon group add|list|show|update|remove` ----
group = {"id": "/dcos-group", "apps": [{"id": "sleeper", "cmd": "sleep 600", "cpus": 0.01, "mem": 8}]}
expect_error("get_group_missing", lambda: client.get_group("dcos-group"))
record("create_group", sorted(client.create_group(group).keys()))
no_deployments()
record("get_groups", [g["id"] for g in client.get_groups()])
shown = client.get_group("dcos-group")
record("get_group", {"id": shown["id"], "apps": [a["id"] for a in shown["apps"]]})
record("update_group", bool(client.update_group("dcos-group", {"apps": [
    {"id": "sleeper", "cmd": "sleep 601", "cpus": 0.01, "mem": 8}]})))
no_deployments()
record("scale_group", bool(client.scale_group("dcos-group", 2)))
no_deployments()
at_first = client.get_group("dcos-group", version=shown["version"])
record("get_group_at_version", {"id": at_first["id"], "cmd": [a["cmd"] for a in at_first["apps"]],
                                "instances": [a["instances"] for a in at_first["apps"]]})
client.remove_group("dcos-group", force=True)
record("remove_group", True)
wait_for("the group's app to be gone", lambda: [a["id"] for a in client.get_apps()],
         lambda ids: "/dcos-group/sleeper" not in ids)
expect_error("add_app_invalid", lambda: client.add_app({"id": "/dcos/bad", "cmd": "x", "cpus": -1}))

# ---- `dcos package update|search|describe|install|list|uninstall` ----
package.update_sources(config)
found = package.search("httpd", config)
record("package_search", [{"source": e.as_dict()["source"].startswith("file://"),
                           "packages": [p["name"] for p in e.packages],
                           "versions": [p["versions"] for p in e.packages]} for e in found])
pkg = package.resolve_package(PACKAGE, config)
revision = pkg.latest_package_revision()
record("package_describe", {"package": pkg.package_json(revision)["name"], "revision": revision,
                            "revisions": pkg.package_revisions_map()})
options = pkg.options(revision, {PACKAGE: {"greeting": "installed-by-dcos"}})
record("package_options", options)
expect_error("package_options_invalid", lambda: pkg.options(revision, {PACKAGE: {"instances": -1}}))
package.install_app(pkg, revision, client, options, None)
no_deployments()
installed = package.installed_apps(client, endpoints=True)
record("package_installed", [{"appId": a["appId"], "name": a["name"], "version": a["version"],
                              "releaseVersion": a["releaseVersion"], "endpoints": len(a["endpoints"])}
                             for a in installed])
installed_app = client.get_app("atoll-web")
record("package_app", {"cmd": installed_app["cmd"],
                       "labels": sorted(k for k in installed_app["labels"] if k.startswith("DCOS_PACKAGE_"))})
package.install_app(pkg, revision, client, options, "/atoll-web-2")
no_deployments()
expect_error("package_uninstall_ambiguous",
             lambda: package.uninstall_app(PACKAGE, False, None, client, mesos.DCOSClient()))
record("package_uninstall_one", package.uninstall_app(PACKAGE, False, "/atoll-web-2", client, mesos.DCOSClient()))
# Atoll lists an app being deleted until its last task has stopped (Marathon dropped it at once).
wait_for("/atoll-web-2 to be gone", lambda: [a["id"] for a in client.get_apps()], lambda ids: "/atoll-web-2" not in ids)
record("package_uninstall_all", package.uninstall_app(PACKAGE, True, None, client, mesos.DCOSClient()))
wait_for("the package's apps to be gone", lambda: package.installed_apps(client), lambda a: a == [])

# ---- prompting for credentials: a Marathon URL without them answers 401 with a Basic challenge,
# and dcos.http asks the user (stdin, getpass) as the CLI did at a terminal ----
import getpass  # noqa: E402

sys.stdin = io.StringIO("admin\n")
getpass.getpass = lambda prompt="": PASSWORD
http.AUTH_CREDS.clear()
prompted = marathon.Client(f"http://{HOST}/", timeout=30)
record("prompted_login", {"apps": [a["id"] for a in prompted.get_apps()], "version": str(prompted.get_version())})

client.remove_app("dcos/web", force=True)
wait_for("/dcos/web to be gone", lambda: [a["id"] for a in client.get_apps()], lambda ids: "/dcos/web" not in ids)
record("remove_app", True)

# dcos prints to stdout too ("Updating source …", the username prompt): the report is its own line.
print("\nREPORT " + json.dumps({"results": RESULTS, "records": RECORDS}, default=str))
sys.stdout.flush()
