"""The load stage: many simulated users sign up, spawn, open their app, run code on a kernel, stay, stop.

`python -m acceptance.load --scenario FILE` (or `nox -s load`). Modules: scenario (the scenario file),
stats (percentiles, failure classes, gates, the knee), metrics (the hub's /hub/metrics), host (CPU and
memory samples), journey (the Locust user: one user's journey), runner (a run or a step series),
plots (inline SVG), report (load.json, load.html). Only journey and runner import Locust (gevent)."""
