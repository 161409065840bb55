"""load.json (everything measured) and load.html (self-contained: verdict, tables, findings, inline SVG)."""
from __future__ import annotations

import json
import re
from html import escape
from pathlib import Path

from acceptance.load import plots
from acceptance.load.scenario import PHASES
from acceptance.load.stats import CATEGORIES

CSS = """body{font-family:sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child,th:first-child,td.l{text-align:left}
.PASS{color:#fff;background:#2a7d2a;padding:2px 10px}.FAIL{color:#fff;background:#b22;padding:2px 10px}
.bad{color:#b22;font-weight:bold}h2{border-bottom:1px solid #ccc}"""


def _s(v, digits: int = 2) -> str:
    if v is None:
        return "-"
    return f"{v:.{digits}f}" if isinstance(v, float) else escape(str(v))


def _gb(n) -> str:
    return "-" if n is None else f"{n / 2**30:.2f} GiB"


def _table(head: list[str], rows: list[list], cls: dict[int, str] | None = None) -> str:
    out = ["<table><tr>" + "".join(f"<th>{escape(h)}</th>" for h in head) + "</tr>"]
    for row in rows:
        out.append("<tr>" + "".join(f'<td class="{(cls or {}).get(i, "")}">{c}</td>' for i, c in enumerate(row))
                   + "</tr>")
    return "\n".join([*out, "</table>"])


def verdict(data: dict) -> tuple[str, str]:
    """("PASS" or "FAIL", why) of a whole load result."""
    runs = data["runs"]
    if not runs:
        return "FAIL", "no run"
    if data["mode"] == "step":
        last = runs[-1]
        if data["knee"] is not None and data["knee"] >= data["scenario"]["users"]:
            return "PASS", f"every step up to {data['knee']} users passed"
        failed = ", ".join(g["gate"] for g in last["gates"] if not g["passed"])
        return "FAIL", f"knee at {data['knee']} users; the step with {last['users']} failed: {failed}"
    failed = [g for g in runs[0]["gates"] if not g["passed"]]
    if not failed:
        return "PASS", "every gate passed"
    return "FAIL", "; ".join(f"{g['gate']}: {g['note']}" if g["limit"] is None else
                             f"{g['gate']} = {_s(g['value'])} (limit {_s(g['limit'])}) {g['note']}".strip()
                             for g in failed)


def _run_section(run: dict, profiles: list[str]) -> str:
    out = []
    out.append(_table(["gate", "limit", "measured", "result"],
                      [[escape(g["gate"]), _s(g["limit"]), f'{_s(g["value"])} {escape(g["note"])}',
                        "pass" if g["passed"] else '<span class="bad">FAIL</span>'] for g in run["gates"]]))
    out.append(f"<p>{run['users']} users in {run['duration']:.0f} s; failure rate {run['failure_rate']:.1f} %; "
               f"HTTP 429 answers honoured (waited out, not failures): {run['retries_429']}"
               + ("; <span class='bad'>cut short by the time limit</span>" if run["cut_short"] else "") + "</p>")
    out.append("<h3>Phases per profile (seconds, successful samples)</h3>")
    rows = []
    for phase in PHASES:
        for key in ["all", *profiles]:
            s = run["summary"][phase].get(key)
            if s and s["n"]:
                rows.append([escape(phase), escape(key), s["n"], _s(s["p50"]), _s(s["p95"]), _s(s["max"]),
                             f'<span class="bad">{s["failures"]}</span>' if s["failures"] else 0])
    out.append(_table(["phase", "profile", "n", "p50", "p95", "max", "failures"], rows, {1: "l"}))
    out.append("<h3>Failures</h3>")
    counts = {c: sum(1 for f in run["failures"] if f["category"] == c) for c in CATEGORIES}
    out.append("<p>" + ", ".join(f"{c}: {n}" for c, n in counts.items()) + "</p>")
    if run["failures"]:
        out.append(_table(["class", "user", "profile", "phase", "message"],
                          [[escape(f["category"]), escape(f["user"]), escape(f["profile"]), escape(f["phase"]),
                            escape(f["error"])] for f in run["failures"]], {1: "l", 2: "l", 3: "l", 4: "l"}))
    out.append("<h3>The hub's view beside the clients'</h3>")
    hvc = run["hub_vs_client"]
    if hvc is None:
        out.append(f"<p class='bad'>not available: {escape('; '.join(run['hub_errors']))}</p>")
    else:
        out.append(_table(["", "hub (/hub/metrics)", "clients"],
                          [[escape(r["what"]), _s(r["hub"]), _s(r["client"])] for r in hvc["rows"]]))
        buckets = hvc["spawn_success"]["buckets"]
        if buckets:
            out.append("<p>hub spawn-duration histogram (this run, cumulative): "
                       + ", ".join(f"&le;{escape(le)} s: {n:.0f}" for le, n in buckets.items()) + "</p>")
        out.append("<p><b>Findings:</b></p><ul>" + "".join(f"<li class='bad'>{escape(f)}</li>" for f in
                                                          hvc["findings"]) + "</ul>" if hvc["findings"]
                   else "<p>Findings: none (the hub and the clients agree within the threshold).</p>")
    out.append("<h3>Memory and CPU actually used</h3>")
    h = run["host_summary"]
    if h.get("samples"):
        out.append(f"<p>{h['samples']} samples. Host CPU mean {h['cpu_mean_percent']} %, peak "
                   f"{h['cpu_peak_percent']} %. Host memory peak {_gb(h['mem_peak_used'])} of {_gb(h['mem_total'])} "
                   f"({h['mem_peak_percent']} %). At the peak, {h['containers_at_peak']} containers used "
                   f"{_gb(h['containers_peak_mem_sum'])} together; their memory limits add up to "
                   f"{_gb(h['containers_limits_at_peak'])} (limits, not reservations).</p>")
        if run.get("memory_by_profile"):
            out.append(_table(["profile", "servers", "largest peak", "mean peak", "limit", "largest peak of limit"],
                              [[escape(k), m["servers"], _gb(m["peak_max"]), _gb(m["peak_mean"]), _gb(m["limit"]),
                                f"{100 * m['peak_max'] / m['limit']:.1f} %" if m["limit"] else "-"]
                               for k, m in run["memory_by_profile"].items()], {0: "l"}))
        rows = [[escape(n), _gb(c["peak_mem"]), _gb(c["limit"]) if c["limit"] < h["mem_total"] else "none",
                 f"{100 * c['peak_mem'] / c['limit']:.1f} %" if c["limit"] < h["mem_total"] else "-"]
                for n, c in sorted(h["per_container"].items())]
        out.append("<details><summary>per container</summary>"
                   + _table(["container", "peak used", "limit", "of limit"], rows) + "</details>")
    out.append("<h3>Plots</h3>")
    by_app: dict[str, list] = {}
    for r in run["records"]:
        for p in r["phases"]:
            if p["phase"] == "spawn" and p["ok"]:
                by_app.setdefault(r["app"], []).append((p["start"], p["seconds"]))
    out.append(plots.scatter(by_app or {"no spawn": []}, "Spawn request to ready, by start time",
                             "seconds since the run began", "spawn (s)"))
    running = {"clients": [(t, float(n)) for t, n in run["running_over_time"]],
               "hub metric": [(s["t"], s["hub_running_servers"]) for s in run["host_samples"]
                              if "hub_running_servers" in s]}
    out.append(plots.lines(running, "Running servers over time", "seconds since the run began", "servers",
                           stepped=True))
    host_series = {"CPU %": [(s["t"], s["cpu_percent"]) for s in run["host_samples"]],
                   "memory %": [(s["t"], round(100 * s["mem_used"] / s["mem_total"], 1)) for s in run["host_samples"]]}
    out.append(plots.lines(host_series, "Host CPU and memory", "seconds since the run began", "per cent"))
    if run["locust_stats"]:
        out.append("<details><summary>Locust's own statistics (the same phases, its percentile buckets)</summary>"
                   + _table(["phase", "profile", "n", "failures", "p50", "p95", "max"],
                            [[escape(s["phase"]), escape(s["profile"]), s["n"], s["failures"], _s(s["p50"]),
                              _s(s["p95"]), _s(s["max"])] for s in run["locust_stats"]], {1: "l"})
                   + "</details>")
    return "\n".join(out)


def html(data: dict) -> str:
    word, why = verdict(data)
    sc = data["scenario"]
    profiles = list(sc["profiles"])
    out = [f"<!doctype html><html><head><meta charset='utf-8'><title>Load: {escape(sc['name'])}</title>"
           f"<style>{CSS}</style></head><body>",
           f"<h1>Load run: {escape(sc['name'])} <span class='{word}'>{word}</span></h1>",
           f"<p>{escape(why)}</p>",
           f"<p>Hub {escape(data['hub_url'])}; started {escape(data['started_at'])}; {data['duration']:.0f} s in all. "
           f"Scenario {escape(sc['source'])}: {sc['users']} users arriving at {sc['arrival_rate']}/s, profiles "
           f"{escape(', '.join(f'{k}×{v}' for k, v in sc['profiles'].items()))}; each runs "
           f"<code>{escape(sc['journey']['code'])}</code> (expects {escape(sc['journey']['expect'])}) and stays "
           f"{sc['journey']['stay_seconds']} s; time limit {sc['time_limit_seconds']} s"
           f"{' per step' if data['mode'] == 'step' else ''}.</p>"]
    for note in data.get("notes", []):
        out.append(f"<p><i>{escape(note)}</i></p>")
    if data["mode"] == "step":
        out.append(f"<h2>Steps: knee at {_s(data['knee'])} users</h2>")
        rows = []
        for run in data["runs"]:
            sp = run["summary"]["spawn"]["all"]
            h = run["host_summary"]
            rows.append([run["users"], "pass" if run["passed"] else '<span class="bad">FAIL</span>',
                         escape(", ".join(g["gate"] for g in run["gates"] if not g["passed"])),
                         _s(sp["p50"]), _s(sp["p95"]), _s(sp["max"]), f"{run['failure_rate']:.1f}",
                         _s(h.get("cpu_mean_percent")), _s(h.get("cpu_peak_percent")), _s(h.get("mem_peak_percent")),
                         _gb(h.get("mem_peak_used"))])
        out.append(_table(["users", "result", "failed gates", "spawn p50", "p95", "max", "failures %",
                           "CPU mean %", "CPU peak %", "mem peak %", "mem peak"], rows, {2: "l"}))
        series = {stat: [(run["users"], run["summary"]["spawn"]["all"][stat]) for run in data["runs"]
                         if run["summary"]["spawn"]["all"][stat] is not None] for stat in ("p50", "p95", "max")}
        out.append(plots.lines(series, "Spawn latency per step", "users", "seconds", markers=True))
    for run in data["runs"]:
        title = f"Step: {run['users']} users" if data["mode"] == "step" else f"Run: {run['users']} users"
        out.append(f"<h2>{title}</h2>")
        out.append(_run_section(run, profiles))
    cleanup = data.get("cleanup", [])
    out.append("<h2>Clean-up</h2>" + ("<ul>" + "".join(f"<li>{escape(c)}</li>" for c in cleanup) + "</ul>"
                                       if cleanup else "<p>nothing to report</p>"))
    out.append("</body></html>")
    return "\n".join(out)


def write(data: dict, report_dir: Path) -> tuple[Path, Path]:
    report_dir.mkdir(parents=True, exist_ok=True)
    data["verdict"], data["verdict_reason"] = verdict(data)
    js, page = report_dir / "load.json", report_dir / "load.html"
    js.write_text(json.dumps(data, indent=1, default=str))
    text = html(data)
    page.write_text(text)
    # each plot also as its own file: the deployment report's load step shows them (--load)
    for old in report_dir.glob("plot-*.svg"):
        old.unlink()
    for n, svg in enumerate(re.findall(r"<svg\b.*?</svg>", text, flags=re.DOTALL), start=1):
        (report_dir / f"plot-{n}.svg").write_text(svg)
    return js, page


def console_summary(data: dict) -> str:
    word, why = verdict(data)
    lines = [f"load {data['scenario']['name']}: {word} ({why})"]
    for run in data["runs"]:
        lines.append(f"  {run['users']} users, {run['duration']:.0f} s, failures {run['failure_rate']:.1f} %, "
                     f"429s {run['retries_429']}" + (", CUT SHORT" if run["cut_short"] else ""))
        for phase in PHASES:
            s = run["summary"][phase]["all"]
            lines.append(f"    {phase:13} n={s['n']:3} p50={_s(s['p50']):>6} p95={_s(s['p95']):>6} "
                         f"max={_s(s['max']):>6} failed={s['failures']}")
        for f in run["failures"][:10]:
            lines.append(f"    FAILED {f['user']} {f['phase']} [{f['category']}]: {f['error'][:160]}")
        if run["hub_vs_client"]:
            for finding in run["hub_vs_client"]["findings"]:
                lines.append(f"    finding: {finding}")
        h = run["host_summary"]
        if h.get("samples"):
            lines.append(f"    host: CPU mean {h['cpu_mean_percent']} % peak {h['cpu_peak_percent']} %, memory peak "
                         f"{_gb(h['mem_peak_used'])} ({h['mem_peak_percent']} %); containers at peak "
                         f"{_gb(h['containers_peak_mem_sum'])} used of {_gb(h['containers_limits_at_peak'])} limits")
        for key, m in (run.get("memory_by_profile") or {}).items():
            lines.append(f"    {key:16} {m['servers']} servers, peak {_gb(m['peak_max'])} of {_gb(m['limit'])}")
    if data["mode"] == "step":
        lines.append(f"  knee: {data['knee']} users")
    return "\n".join(lines)
