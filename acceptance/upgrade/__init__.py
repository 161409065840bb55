"""Upgrades verified (`nox -s upgrade`): a platform moved from one release to the next with nothing lost, and back.
See acceptance/upgrade/__main__.py and docs/upgrading.md."""
