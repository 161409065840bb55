"""The mutation self-test's breakages: each applies to a copy of the platform, every step has one."""
from __future__ import annotations

import json

import pytest

from acceptance import settings
from acceptance.mutants import MUTANTS, Mutant, Outcome, scratch_copy, write_table
from acceptance.settings import ROOT


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.id)
def test_each_breakage_applies_to_a_scratch_copy_and_changes_it(mutant, tmp_path):
    scratch = scratch_copy(mutant, tmp_path)
    changed = {rel for rel, _text, _new in mutant.edits}
    assert all((scratch / rel).read_text() != (ROOT / rel).read_text() for rel in changed)
    assert set(mutant.steps) <= set(settings.STEPS)


def test_every_step_has_a_breakage_it_must_catch_and_ci_runs_at_least_three():
    assert {s for m in MUTANTS for s in m.steps} == set(settings.STEPS)
    assert len(MUTANTS) >= 15 and len({m.id for m in MUTANTS}) == len(MUTANTS)
    assert sum(m.smoke for m in MUTANTS) >= 3


def test_a_breakage_whose_text_is_not_there_once_is_refused(tmp_path):
    stale = Mutant("x", "x", "hub config", ("P2",), (("stack/jupyterhub_config.py", "no such text", ""),))
    with pytest.raises(ValueError, match="0 times"):
        scratch_copy(stale, tmp_path)


def test_a_rerun_of_some_breakages_replaces_their_rows(tmp_path):
    first = [Outcome(m, caught=False, message="x") for m in MUTANTS[:3]]
    write_table(first, tmp_path)
    data = json.loads(write_table([Outcome(MUTANTS[1], caught=True)], tmp_path, merge=True).read_text())
    assert [r["id"] for r in data["rows"]] == [m.id for m in MUTANTS[:3]]
    assert [r["caught"] for r in data["rows"]] == [False, True, False] and data["caught"] == 1
