"""`nox -s upgrade -- [--from REF] [--break BREAKAGE [--expect-caught]] [--checklist all|none|MARKEXPR]`

Starts the old release under a throw-away project, populates it as a real site, upgrades it in place with
stack/upgrade.sh (docs/upgrading.md), verifies nothing was lost, runs the checklist against it, rolls back from the
backup and verifies the old release serves the same state. Writes reports/upgrade/upgrade.{json,md,html}. Exit
status 0 only when every check passed (with --break and --expect-caught: only when the breakage failed the run on
the check that must catch it)."""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from acceptance.settings import PROFILES_FILE
from acceptance.upgrade import report
from acceptance.upgrade.run import (
    BREAKAGES,
    JH5_IMAGE,
    LAB_IMAGE,
    GitRelease,
    UpgradeRun,
    broken_lab_image,
    jh5_release,
    profiles_with_image,
    this_release,
)
from acceptance.upgrade.site import NOTEBOOK_PACKAGE

os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")


def leftovers(run_tag: str, git: GitRelease | None) -> list[str]:
    """What of the run's own is still there after its clean-up: an image tag naming the run, its worktree."""
    tags = subprocess.run(["docker", "images", "--format", "{{.Repository}}:{{.Tag}}"], capture_output=True,
                          text=True).stdout.split()
    left = [f"image {t}" for t in tags if f"jhv{run_tag}" in t]
    if git is not None:
        worktrees = subprocess.run(["git", "worktree", "list", "--porcelain"], capture_output=True, text=True).stdout
        if str(git.dir) in worktrees or git.dir.exists():
            left.append(f"worktree {git.dir}")
    return [f"left after the run: {', '.join(left)}"] if left else []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nox -s upgrade --", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--from", dest="ref", default="jh5",
                        help="the old release: 'jh5' (default: this checkout with the JupyterHub 5.5.4 hub image, "
                             f"{JH5_IMAGE}) or a git REF of this repository (a worktree of it is started)")
    parser.add_argument("--break", dest="breakage", choices=sorted(BREAKAGES),
                        help="; ".join(f"{k}: {v[1]} (must fail {v[0]})" for k, v in BREAKAGES.items()))
    parser.add_argument("--expect-caught", action="store_true",
                        help="with --break: exit 0 when the breakage failed the run on its check (the self-test)")
    parser.add_argument("--checklist", default="all",
                        help="the checklist after the upgrade (a verify-by-URL run): all (default), none, or a pytest "
                             "marker expression such as 'p3 or t6'")
    parser.add_argument("--stack", choices=("compose", "production"), default="compose",
                        help="the compose stack (default; SQLite in the hub's volume) or stack/production/ "
                             "(PostgreSQL, TLS proxy, hardened auth: signups wait for the admin's approval)")
    parser.add_argument("--report-dir", type=Path, default=Path("reports/upgrade"))
    args = parser.parse_args(argv)
    if args.expect_caught and not args.breakage:
        parser.error("--expect-caught needs --break")
    if args.stack == "production" and args.breakage == "no-volume":
        parser.error("--break no-volume removes the hub's volume, which holds the database on the compose stack only")

    started = time.monotonic()
    run_tag = uuid.uuid4().hex[:6]
    git = broken_tag = run = None
    new_env, profiles_file = {}, None
    try:
        if args.ref == "jh5":
            old = jh5_release(args.stack)
        else:
            git = GitRelease(args.ref, f"jhv{run_tag}-old")
            old = git.make(args.stack)
        if args.breakage == "drop-package":
            broken_tag = f"local/uv-lab:jhv{run_tag}-no-{NOTEBOOK_PACKAGE}"
            broken_lab_image(broken_tag)
            args.report_dir.mkdir(parents=True, exist_ok=True)
            profiles_file = args.report_dir.resolve() / f"profiles-jhv{run_tag}.yaml"
            profiles_with_image(profiles_file, LAB_IMAGE, broken_tag)
        new = this_release(new_env, profiles_file or PROFILES_FILE, args.stack)
        run = UpgradeRun(old, new, args.breakage, args.checklist, args.report_dir, kind=args.stack)
        run.run()
    finally:
        extra_errors = []
        if git is not None:
            extra_errors += git.remove()
        if broken_tag:
            subprocess.run(["docker", "image", "rm", "-f", broken_tag], capture_output=True)   # the run's own tag
            if profiles_file:
                profiles_file.unlink(missing_ok=True)
        extra_errors += leftovers(run_tag, git)
    if run is None:
        return 1
    run.timings["total"] = round(time.monotonic() - started, 1)
    if extra_errors:
        from acceptance.upgrade.run import Check
        run.checks.append(Check("clean-up", "nothing of the run left", False, "; ".join(extra_errors)))
    doc = report.write(args.report_dir, run.data, run.checks, run.timings, run.transcript)
    v = doc["verdict"]
    print(f"[upgrade] report: {args.report_dir / 'upgrade.html'}")
    if args.breakage:
        caught = v.get("caught")
        print(f"[upgrade] breakage {args.breakage}: " + (f"caught by {BREAKAGES[args.breakage][0]}" if caught else
                                                        f"NOT caught by {BREAKAGES[args.breakage][0]}")
              + f" (failed: {', '.join(v['failed']) or 'nothing'})")
        code = 0 if (args.expect_caught and caught) else 1
    else:
        code = 0 if v["status"] in ("PASSED", "PARTIAL") else 1
    print(f"upgrade: {v['status']} in {run.timings['total']:.0f} s; exit status {code}")
    return code


if __name__ == "__main__":
    sys.exit(main())
