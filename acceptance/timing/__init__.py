"""Figures, no verdict: the benchmark (benchmark.py), where a spawn's time goes (spawn.py) and where a run's time goes
(run.py)."""
