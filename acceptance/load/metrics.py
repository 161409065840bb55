"""The hub's own view: /hub/metrics (Prometheus text) scraped before and after a run, and set beside what
the clients measured. A gap between the two is a finding the report states."""
from __future__ import annotations

import math

import requests
from prometheus_client.parser import text_string_to_metric_families

SPAWN = "jupyterhub_server_spawn_duration_seconds"
STOP = "jupyterhub_server_stop_seconds"
REQUESTS = "jupyterhub_request_duration_seconds"


def key(name: str, labels: dict[str, str]) -> str:
    """A sample's canonical name: name{a="x",b="y"} with sorted labels (name alone without labels)."""
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{name}{{{inner}}}" if inner else name


def parse(text: str) -> dict[str, float]:
    """Every sample of a Prometheus text exposition: {canonical name: value}."""
    return {key(s.name, s.labels): float(s.value)
            for family in text_string_to_metric_families(text) for s in family.samples}


def summed_by(text: str, name: str, label: str) -> dict[str, float]:
    """The samples called `name` in a Prometheus text exposition, summed over every label but `label`:
    {its value ("" for a sample without it): sum}."""
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name:
                key = s.labels.get(label, "")
                out[key] = out.get(key, 0.0) + float(s.value)
    return out


def scrape(hub_url: str, token: str, timeout: float) -> dict[str, float]:
    r = requests.get(f"{hub_url.rstrip('/')}/hub/metrics", headers={"Authorization": f"token {token}"},
                     timeout=timeout)
    if r.status_code != 200:
        raise RuntimeError(f"/hub/metrics answered HTTP {r.status_code} (the token needs read:metrics)")
    return parse(r.text)


def _labels(sample_key: str) -> tuple[str, dict[str, str]]:
    name, _, rest = sample_key.partition("{")
    labels = {}
    for part in filter(None, rest.rstrip("}").split('",')):
        k, _, v = part.partition('="')
        labels[k] = v.rstrip('"')
    return name, labels


def select(samples: dict[str, float], name: str, **labels: str) -> dict[str, float]:
    """The samples called `name` whose labels include `labels`."""
    out = {}
    for k, v in samples.items():
        n, ls = _labels(k)
        if n == name and all(ls.get(a) == b for a, b in labels.items()):
            out[k] = v
    return out


def total(samples: dict[str, float], name: str, **labels: str) -> float:
    return sum(select(samples, name, **labels).values())


def histogram_delta(before: dict[str, float], after: dict[str, float], name: str, **labels: str) -> dict:
    """What a histogram gained between two scrapes: count, sum, mean and cumulative buckets {le: count}."""
    count = total(after, f"{name}_count", **labels) - total(before, f"{name}_count", **labels)
    summ = total(after, f"{name}_sum", **labels) - total(before, f"{name}_sum", **labels)
    buckets: dict[str, float] = {}
    for k, v in select(after, f"{name}_bucket", **labels).items():
        le = _labels(k)[1]["le"]
        buckets[le] = buckets.get(le, 0) + v - before.get(k, 0)
    order = sorted(buckets, key=lambda le: math.inf if le == "+Inf" else float(le))
    return {"count": count, "sum": summ, "mean": summ / count if count else None,
            "buckets": {le: buckets[le] for le in order}}


def compare(before: dict[str, float], after: dict[str, float], client: dict, max_mean_gap: float,
            hub_peak: float | None = None) -> dict:
    """The hub's figures beside the clients' (`client`: spawn_ok, spawn_failed, spawn_mean, stop_ok, stop_mean,
    users, peak_running, running_after: what the REST API lists after the run) as rows {what, hub, client}, and
    the findings: the gaps. `hub_peak`: the highest jupyterhub_running_servers sampled during the run."""
    run_before, run_after = total(before, "jupyterhub_running_servers"), total(after, "jupyterhub_running_servers")
    spawn_ok = histogram_delta(before, after, SPAWN, status="success")
    spawn_fail = histogram_delta(before, after, SPAWN, status="failure")
    stop = histogram_delta(before, after, STOP, status="success")
    reqs = histogram_delta(before, after, REQUESTS)
    rows = [
        {"what": "successful spawns", "hub": int(spawn_ok["count"]), "client": client["spawn_ok"]},
        {"what": "failed spawns", "hub": int(spawn_fail["count"]), "client": client["spawn_failed"]},
        {"what": "mean spawn duration (s)", "hub": spawn_ok["mean"], "client": client["spawn_mean"]},
        {"what": "stops", "hub": int(stop["count"]), "client": client["stop_ok"]},
        {"what": "mean stop duration (s)", "hub": stop["mean"], "client": client["stop_mean"]},
        {"what": "running servers before / after", "hub": f"{run_before:.0f} / {run_after:.0f}",
         "client": f"REST API lists {client['running_after']} after"},
        {"what": "peak running servers", "hub": "-" if hub_peak is None else f"{hub_peak:.0f} (gauge, sampled)",
         "client": client["peak_running"]},
        {"what": "total users before / after", "hub": f"{total(before, 'jupyterhub_total_users'):.0f} / "
                                                      f"{total(after, 'jupyterhub_total_users'):.0f}",
         "client": f"+{client['users']} made (deleted after the scrape)"},
        {"what": "hub HTTP requests served, mean duration (s)", "hub": f"{reqs['count']:.0f}, "
         + (f"{reqs['mean']:.3f}" if reqs["mean"] is not None else "-"), "client": ""},
    ]
    findings = []
    if spawn_ok["count"] != client["spawn_ok"]:
        findings.append(f"the hub counted {spawn_ok['count']:.0f} successful spawns, the clients "
                        f"{client['spawn_ok']}")
    if spawn_fail["count"] != client["spawn_failed"]:
        findings.append(f"the hub counted {spawn_fail['count']:.0f} failed spawns, the clients "
                        f"{client['spawn_failed']}")
    if spawn_ok["mean"] is not None and client["spawn_mean"] is not None:
        gap = client["spawn_mean"] - spawn_ok["mean"]
        if abs(gap) > max_mean_gap:
            findings.append(f"mean spawn duration: clients {client['spawn_mean']:.1f} s, hub {spawn_ok['mean']:.1f} s "
                            f"(gap {gap:+.1f} s, threshold {max_mean_gap} s)")
    if run_after != run_before + client["running_after"]:
        findings.append(f"the hub's jupyterhub_running_servers gauge reads {run_after:.0f} after the run "
                        f"({run_before:.0f} before), while its REST API lists {client['running_after']} running "
                        "servers of the run's users")
    if hub_peak is not None and hub_peak > client["peak_running"]:
        findings.append(f"the hub's jupyterhub_running_servers gauge peaked at {hub_peak:.0f}, the clients never had "
                        f"more than {client['peak_running']} servers ready at once")
    return {"rows": rows, "findings": findings, "spawn_success": spawn_ok, "spawn_failure": spawn_fail,
            "stop": stop, "requests": reqs}
