#!/usr/bin/env python3
"""Build the platform's four images: the hub and the single-user images that the
profiles in stack/profiles.yaml name (one Dockerfile target per image).

    python images/build.py                 # build all (layer cache makes rebuilds cheap)
    python images/build.py --missing-only  # build only images that do not exist yet
    python images/build.py uv-lab hub      # build some

The base image is the build argument BASE_IMAGE: $BASE_IMAGE if set, else the public
default when it is present locally, else the local one that stack/provision-host.sh
makes where no registry answers. $EXTRA_CA_BUNDLE (default: the host's CA bundle,
"none" to skip) is trusted by the build stages only.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE / "hub"))
from jhub_platform.profiles import load_profiles  # noqa: E402

PROFILES_FILE = ROOT / "stack" / "profiles.yaml"
HUB_IMAGE = "local/jupyterhub-hub:latest"
PUBLIC_BASE_IMAGE = "debian:bookworm-slim"
LOCAL_BASE_IMAGE = "local/debian-base:bookworm"
DEFAULT_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


@dataclass(frozen=True)
class ImageSpec:
    name: str          # short name: hub, uv-lab ...
    tag: str
    dockerfile: str    # relative to images/
    target: str | None


def image_specs(profiles_file: Path = PROFILES_FILE) -> list[ImageSpec]:
    """The hub first, then every single-user image the profiles use, in profile order."""
    specs = [ImageSpec("hub", HUB_IMAGE, "hub/Dockerfile", None)]
    for image in dict.fromkeys(p.image for p in load_profiles(profiles_file)):
        target = image.split("/")[-1].split(":")[0]
        specs.append(ImageSpec(target, image, "singleuser/Dockerfile", target))
    return specs


def image_exists(tag: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", tag], capture_output=True).returncode == 0


def image_size(tag: str) -> int:
    out = subprocess.run(["docker", "image", "inspect", "-f", "{{.Size}}", tag],
                         capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


def choose_base_image() -> str:
    if os.environ.get("BASE_IMAGE"):
        return os.environ["BASE_IMAGE"]
    if image_exists(PUBLIC_BASE_IMAGE):
        return PUBLIC_BASE_IMAGE
    if image_exists(LOCAL_BASE_IMAGE):
        return LOCAL_BASE_IMAGE
    return PUBLIC_BASE_IMAGE  # docker pulls it


def prepare_extra_ca() -> str:
    """Put the optional extra CA bundle into the build context; return what was used."""
    dest = HERE / "ca" / "extra-ca.pem"
    src = os.environ.get("EXTRA_CA_BUNDLE", DEFAULT_CA_BUNDLE)
    if src == "none" or not Path(src).is_file():
        dest.unlink(missing_ok=True)
        return "none"
    if not dest.exists() or dest.read_bytes() != Path(src).read_bytes():
        shutil.copyfile(src, dest)  # rewritten only when it changed, so layer caches hold
    return src


def build(spec: ImageSpec, base_image: str) -> float:
    cmd = ["docker", "build", "-t", spec.tag, "-f", str(HERE / spec.dockerfile),
           "--build-arg", f"BASE_IMAGE={base_image}"]
    if spec.target:
        cmd += ["--target", spec.target]
    cmd.append(str(HERE))
    env = dict(os.environ, DOCKER_BUILDKIT="0")  # no buildx on the target hosts
    print(f"[images] building {spec.tag} ({spec.dockerfile}{' target ' + spec.target if spec.target else ''})",
          flush=True)
    start = time.monotonic()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        sys.stdout.write(proc.stdout[-6000:])
        raise SystemExit(f"[images] FAILED to build {spec.tag} after {elapsed:.0f}s (docker build output above)")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="images to build (hub, uv-lab, ...); default all")
    parser.add_argument("--missing-only", action="store_true", help="skip images that already exist")
    args = parser.parse_args(argv)

    specs = image_specs()
    unknown = set(args.names) - {s.name for s in specs}
    if unknown:
        parser.error(f"unknown image(s) {sorted(unknown)}; known: {[s.name for s in specs]}")
    chosen = [s for s in specs if not args.names or s.name in args.names]
    if args.missing_only:
        chosen = [s for s in chosen if not image_exists(s.tag)]
        if not chosen:
            print("[images] all images present")
            return 0

    base = choose_base_image()
    ca = prepare_extra_ca()
    print(f"[images] base image {base}; extra CA for build stages: {ca}")
    # uv-lab builds after uv-vscode and reuses all of its layers.
    for spec in chosen:
        elapsed = build(spec, base)
        print(f"[images] built {spec.tag} in {elapsed:.0f}s, {image_size(spec.tag) / 1e9:.2f} GB", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
