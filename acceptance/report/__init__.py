"""The deployment report: the checklist's results, measured, as HTML, Markdown and JSON.

model   dataclasses and the aggregation rules (pure)
render  write_reports(run, outdir)
mutants_view  the mutation self-test's table (mutants.json in the report dir)
plugin  the pytest plugin: collects checks, the `evidence`, `tally` and `deployment_report` fixtures
"""
