"""The deployment report: the checklist's results, measured, as HTML, Markdown and JSON.

model   dataclasses and the aggregation rules (pure)
render  write_reports(run, outdir)
plugin  the pytest plugin: collects checks, the `evidence`, `tally` and `deployment_report` fixtures
"""
