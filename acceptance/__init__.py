"""Acceptance harness: verifies a running platform stack against the deployment checklist."""
