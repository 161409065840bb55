"""images/build.py: which images, which base image, the extra CA bundle (no docker needed)."""
from __future__ import annotations

import os
import re
import shutil

import pytest

from acceptance.settings import ROOT
from images import build


def dockerfile_targets(dockerfile: str) -> set[str]:
    text = (ROOT / "images" / dockerfile).read_text()
    return set(re.findall(r"^FROM\s+\S+\s+AS\s+(\S+)", text, flags=re.MULTILINE | re.IGNORECASE))


def test_image_specs_hub_first_then_singleuser_images_then_production_ones():
    assert [(s.name, s.tag) for s in build.image_specs()] == [
        ("hub", build.HUB_IMAGE),
        ("uv-lab", "local/uv-lab:latest"),
        ("uv-vscode", "local/uv-vscode:latest"),
        ("uv-marimo", "local/uv-marimo:latest"),
        ("proxy", "local/jupyterhub-proxy:latest"),
        ("db", "local/jupyterhub-db:latest"),
        ("firewall", "local/jupyterhub-firewall:latest"),
    ]


def test_image_specs_targets_exist_in_dockerfiles():
    for spec in build.image_specs():
        assert (ROOT / "images" / spec.dockerfile).is_file(), spec
        if spec.target is not None:
            assert spec.target in dockerfile_targets(spec.dockerfile), spec


@pytest.fixture
def images_present(monkeypatch):
    """Pretend these images exist locally (no docker)."""
    present: set[str] = set()
    monkeypatch.setattr(build, "image_exists", lambda tag: tag in present)
    monkeypatch.delenv("BASE_IMAGE", raising=False)
    return present


def test_base_image_from_env_wins(images_present, monkeypatch):
    images_present.update({build.PUBLIC_BASE_IMAGE, build.LOCAL_BASE_IMAGE})
    monkeypatch.setenv("BASE_IMAGE", "registry.example/debian:custom")
    assert build.choose_base_image() == "registry.example/debian:custom"


def test_base_image_public_when_present(images_present):
    images_present.update({build.PUBLIC_BASE_IMAGE, build.LOCAL_BASE_IMAGE})
    assert build.choose_base_image() == build.PUBLIC_BASE_IMAGE


def test_base_image_local_when_only_local_present(images_present):
    images_present.add(build.LOCAL_BASE_IMAGE)
    assert build.choose_base_image() == build.LOCAL_BASE_IMAGE


def test_base_image_public_when_none_present(images_present):
    assert build.choose_base_image() == build.PUBLIC_BASE_IMAGE


@pytest.fixture
def ca_dir(tmp_path, monkeypatch):
    """A copy of images/ca as build.HERE/ca, so the real build context is never touched."""
    here = tmp_path / "images"
    shutil.copytree(ROOT / "images" / "ca", here / "ca", ignore=shutil.ignore_patterns("*.pem"))
    monkeypatch.setattr(build, "HERE", here)
    return here / "ca"


def test_extra_ca_copied_from_env(ca_dir, tmp_path, monkeypatch):
    bundle = tmp_path / "bundle.pem"
    bundle.write_text("CERT A\n")
    monkeypatch.setenv("EXTRA_CA_BUNDLE", str(bundle))
    assert build.prepare_extra_ca() == str(bundle)
    assert (ca_dir / "extra-ca.pem").read_text() == "CERT A\n"


def test_extra_ca_not_rewritten_when_unchanged(ca_dir, tmp_path, monkeypatch):
    bundle = tmp_path / "bundle.pem"
    bundle.write_text("CERT A\n")
    dest = ca_dir / "extra-ca.pem"
    dest.write_text("CERT A\n")
    os.utime(dest, ns=(1_000_000_000, 1_000_000_000))
    monkeypatch.setenv("EXTRA_CA_BUNDLE", str(bundle))
    build.prepare_extra_ca()
    assert dest.stat().st_mtime_ns == 1_000_000_000


def test_extra_ca_rewritten_when_changed(ca_dir, tmp_path, monkeypatch):
    bundle = tmp_path / "bundle.pem"
    bundle.write_text("CERT B\n")
    dest = ca_dir / "extra-ca.pem"
    dest.write_text("CERT A\n")
    monkeypatch.setenv("EXTRA_CA_BUNDLE", str(bundle))
    build.prepare_extra_ca()
    assert dest.read_text() == "CERT B\n"


def test_extra_ca_none_removes_it(ca_dir, monkeypatch):
    dest = ca_dir / "extra-ca.pem"
    dest.write_text("CERT A\n")
    monkeypatch.setenv("EXTRA_CA_BUNDLE", "none")
    assert build.prepare_extra_ca() == "none"
    assert not dest.exists()


def test_extra_ca_missing_bundle_removes_it(ca_dir, tmp_path, monkeypatch):
    dest = ca_dir / "extra-ca.pem"
    dest.write_text("CERT A\n")
    monkeypatch.setenv("EXTRA_CA_BUNDLE", str(tmp_path / "no-such.pem"))
    assert build.prepare_extra_ca() == "none"
    assert not dest.exists()
