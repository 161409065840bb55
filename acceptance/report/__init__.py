"""The deployment report: the checklist's results, measured, as HTML, Markdown and JSON.

model    dataclasses and the aggregation rules (pure)
render   write_reports(run, outdir)
mutants_view  the mutation self-test's table (mutants.json in the report dir)
benchmark_view  the benchmark's figures in the report
plugin   the pytest plugin: only the wiring of pytest's hooks, and the `evidence`, `tally` and `deployment_report`
         fixtures; each job is a module of its own:
collect  the run's results by check (ReportCollector, get_collector, step_of, check_title)
evidence what a test adds to its check (Evidence, Tally) and pytest-playwright's artifacts of a test
verdict  what the verdict weighs besides the results: whether a report is owed, the narrowing, the build status
outputs  the report dir (--report-dir, which takes the run's other outputs along) and an earlier run's reports removed
finish   the session's end: the report written (or a fallback that says why not), the exit status, the verdict line
"""
