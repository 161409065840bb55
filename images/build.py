#!/usr/bin/env python3
"""Build the platform's images: the hub and the single-user images that the profiles in
stack/profiles.yaml name (one Dockerfile target per image), then the custom images of profiles with a
`build:` folder (images/<folder>/Dockerfile, made from images/templates/singleuser-uv/), then the
production stack's reverse proxy (nginx), database (PostgreSQL) and firewall (iptables), which only
stack/production/ uses, and the log collector (images/logs/) every stack runs.

    python images/build.py                 # build all (layer cache makes rebuilds cheap)
    python images/build.py --missing-only  # build only images that do not exist yet
    python images/build.py uv-lab hub      # build some
    python images/build.py proxy db firewall  # the production stack's own images
    python images/build.py logs            # the log collector (every stack)
    python images/build.py hub-jh5         # the previous release's hub (JupyterHub 5.5.4), for `nox -s upgrade`
    python images/build.py --jobs 1        # one build at a time (default: 2 side by side, see build_dependencies)

The base image is the build argument BASE_IMAGE: $BASE_IMAGE if set, else the public
default when it is present locally, else the local one that stack/provision-host.sh
makes where no registry answers. $EXTRA_CA_BUNDLE (default: the host's CA bundle,
"none" to skip) is trusted by the build stages only.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

try:   # the hub's own package (images/hub/), for the profiles: `nox -s images` installs it beside pyyaml
    from jhub_platform.profiles import load_profiles
except ModuleNotFoundError as exc:
    sys.exit(f"images/build.py: {exc}: run it with `nox -s images [-- NAME ...]`, or install the hub's package "
             "first: pip install pyyaml --no-deps -e images/hub")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

PROFILES_FILE = ROOT / "stack" / "profiles.yaml"
HUB_IMAGE = "local/jupyterhub-hub:latest"
# stack/production/ only (the compose and swarm stacks never need them): tag -> Dockerfile folder
PRODUCTION_IMAGES = {"proxy": "local/jupyterhub-proxy:latest", "db": "local/jupyterhub-db:latest",
                     "firewall": "local/jupyterhub-firewall:latest"}
# every stack's log collector (images/logs/): the syslog driver's receiver, one rotated file per container
LOGS_IMAGE = "local/jupyterhub-logs:latest"
PUBLIC_BASE_IMAGE = "debian:bookworm-slim"
LOCAL_BASE_IMAGE = "local/debian-base:bookworm"
DEFAULT_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
# Files at the build context's top that Dockerfiles of several folders COPY: part of every image's inputs.
SHARED_INPUTS = ("uv-excludes.txt",)
# Every image carries a hash of its build inputs; the acceptance run compares it with the checkout
# (Phase 1), so a run never passes on an image older than the files it was built from.
INPUTS_LABEL = "org.jupyterhub.platform.inputs"
# The hub's main pins (from the lock it was built with), for the upgrade report's from/to versions.
VERSIONS_LABEL = "org.jupyterhub.platform.versions"
VERSIONED_PACKAGES = ("jupyterhub", "dockerspawner", "wrapspawner", "jupyterhub-nativeauthenticator",
                      "jupyterhub-idle-culler")


@dataclass(frozen=True)
class ImageSpec:
    name: str          # short name: hub, uv-lab ...
    tag: str
    dockerfile: str    # relative to images/
    target: str | None
    folder: str | None = None              # a custom image's folder under images/ (build arg IMAGE_DIR)
    parents: tuple[ImageSpec, ...] = ()    # images of this build its Dockerfile starts FROM
    build_args: tuple[tuple[str, str], ...] = ()   # beyond BASE_IMAGE/IMAGE_DIR (a variant of the same Dockerfile)


# Built only when named (`build.py hub-jh5`): the previous release's hub, the same Dockerfile with JupyterHub 5.5.4's
# lock, which `nox -s upgrade` upgrades from.
EXTRA_SPECS = (ImageSpec("hub-jh5", "local/jupyterhub-hub:jh5", "hub/Dockerfile", None,
                         build_args=(("HUB_REQUIREMENTS", "hub/requirements-jupyterhub5.txt"),)),)


class BuildConfigError(ValueError):
    """The profiles ask for a build that cannot be made; the message names the profile."""


def _short(image: str) -> str:
    """local/uv-lab:latest -> uv-lab"""
    return image.split("/")[-1].split(":")[0]


def dockerfile_parents(dockerfile: Path) -> list[str]:
    """The images a Dockerfile's stages start FROM, with its ARG defaults filled in (the build passes only
    BASE_IMAGE and IMAGE_DIR): `ARG PARENT_IMAGE=local/uv-lab:latest` + `FROM ${PARENT_IMAGE}` -> uv-lab."""
    args: dict[str, str] = {}
    refs = []
    for line in dockerfile.read_text().splitlines():
        words = line.split()
        if len(words) >= 2 and words[0].upper() == "ARG" and "=" in words[1]:
            name, _, value = words[1].partition("=")
            args.setdefault(name, value.strip("\"'"))
        elif len(words) >= 2 and words[0].upper() == "FROM":
            ref = next(w for w in words[1:] if not w.startswith("--"))
            refs.append(re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m[1], m[0]), ref))
    return list(dict.fromkeys(refs))


def image_specs(profiles_file: Path = PROFILES_FILE, images_dir: Path | None = None) -> list[ImageSpec]:
    """The hub first, then every single-user image the profiles use, in profile order (a target of
    images/singleuser/Dockerfile), then the custom images (profiles with `build: <folder>`: built from
    images/<folder>/Dockerfile, after the shipped images they may start FROM), then the production stack's
    images. `images_dir`: the images/ beside the profiles file's stack/ (the checkout's, or a scratch copy's)."""
    images_dir = images_dir or Path(profiles_file).resolve().parent.parent / "images"
    specs = [ImageSpec("hub", HUB_IMAGE, "hub/Dockerfile", None)]
    folders: dict[str, str | None] = {}
    for p in load_profiles(profiles_file):
        if p.image in folders and folders[p.image] != p.build:
            raise BuildConfigError(
                f"{profiles_file}: profile {p.key}: image {p.image} is built from "
                f"{_from(p.build)} here and from {_from(folders[p.image])} by an earlier profile")
        folders.setdefault(p.image, p.build)
    for image in (i for i, folder in folders.items() if folder is None):
        specs.append(ImageSpec(_short(image), image, "singleuser/Dockerfile", _short(image)))
    for image, folder in ((i, f) for i, f in folders.items() if f is not None):
        dockerfile = images_dir / folder / "Dockerfile"
        built = {s.tag: s for s in specs}
        parents = tuple(built[ref] for ref in dockerfile_parents(dockerfile) if ref in built) \
            if dockerfile.is_file() else ()
        specs.append(ImageSpec(_short(image), image, f"{folder}/Dockerfile", None, folder, parents))
    specs += [ImageSpec(name, tag, f"{name}/Dockerfile", None) for name, tag in PRODUCTION_IMAGES.items()]
    specs.append(ImageSpec("logs", LOGS_IMAGE, "logs/Dockerfile", None))
    return specs


def _from(folder: str | None) -> str:
    return f"images/{folder}/" if folder else "images/singleuser/Dockerfile (no build:)"


def missing_dockerfile(spec: ImageSpec, images_dir: Path = HERE) -> str | None:
    """Why a custom image cannot be built: its `build:` folder has no Dockerfile (None: it has one)."""
    if spec.folder and not (images_dir / spec.dockerfile).is_file():
        return (f"the profile's build: {spec.folder} has no Dockerfile (images/{spec.dockerfile}); copy the "
                f"template: cp -r images/templates/singleuser-uv images/{spec.folder}")
    return None


def inputs_hash(spec: ImageSpec, images_dir: Path = HERE) -> str:
    """sha256 of what makes the image: its Dockerfile's folder (every file, by relative path), the target
    and the build context's shared files, and the inputs of the images of this build it starts FROM (a
    custom image is stale when its parent changed). The optional extra CA (images/ca/) is the host's, not the
    checkout's: left out."""
    folder = (images_dir / spec.dockerfile).parent
    digest = hashlib.sha256(f"target={spec.target or ''}\n".encode())
    shared = [images_dir / name for name in SHARED_INPUTS if (images_dir / name).is_file()]
    for path in shared + sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(f"{path.relative_to(images_dir).as_posix()}\n".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    for parent in spec.parents:
        digest.update(f"parent={parent.tag} {inputs_hash(parent, images_dir)}\n".encode())
    for name, value in spec.build_args:
        digest.update(f"arg={name}={value}\n".encode())
    return digest.hexdigest()


def pinned_versions(spec: ImageSpec, images_dir: Path = HERE) -> str:
    """The hub's main pins from the lock it is built with ("jupyterhub==6.1.1 dockerspawner==14.0.0 ..."); empty for
    an image that is not the hub."""
    if spec.dockerfile != "hub/Dockerfile":
        return ""
    lock = dict(spec.build_args).get("HUB_REQUIREMENTS", "hub/requirements.txt")
    pins = {}
    for line in (images_dir / lock).read_text().splitlines():
        name, sep, version = line.split("#")[0].strip().partition("==")
        if sep and name.lower() in VERSIONED_PACKAGES:
            pins[name.lower()] = version
    return " ".join(f"{n}=={pins[n]}" for n in VERSIONED_PACKAGES if n in pins)


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
    # --force-rm: a failed step leaves no intermediate container behind (the classic builder keeps it)
    cmd = ["docker", "build", "--force-rm", "-t", spec.tag, "-f", str(HERE / spec.dockerfile),
           "--build-arg", f"BASE_IMAGE={base_image}", "--label", f"{INPUTS_LABEL}={inputs_hash(spec, HERE)}"]
    if spec.target:
        cmd += ["--target", spec.target]
    if spec.folder:   # a custom image: the build context is images/, its files are under IMAGE_DIR
        cmd += ["--build-arg", f"IMAGE_DIR={spec.folder}"]
    for name, value in spec.build_args:
        cmd += ["--build-arg", f"{name}={value}"]
    if pinned_versions(spec, HERE):
        cmd += ["--label", f"{VERSIONS_LABEL}={pinned_versions(spec, HERE)}"]
    cmd.append(str(HERE))
    env = dict(os.environ, DOCKER_BUILDKIT="0")  # no buildx on the target hosts
    print(f"[images] building {spec.tag} ({spec.dockerfile}{' target ' + spec.target if spec.target else ''})",
          flush=True)
    start = time.monotonic()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        sys.stdout.write(proc.stdout[-6000:])
        raise BuildFailed(f"`docker build` exited {proc.returncode} after {elapsed:.0f}s: "
                          f"{failure_summary(proc.stdout)}")
    return elapsed


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_STEP_FAILED = re.compile(r"^The command '.*' returned a non-zero code: (\d+)$", re.S)


def failure_summary(output: str) -> str:
    """What went wrong, from the end of `docker build`'s output: from the last line saying error (a tool's own
    message: uv's, apt's, a compiler's), else the last lines; without colour codes, the builder's clean-up lines
    and the failed RUN's whole command line."""
    lines = []
    for line in _ANSI.sub("", output).strip().splitlines():
        line = line.strip()
        if not line or line.startswith(("Removing intermediate container", "---> ")):
            continue
        m = _STEP_FAILED.match(line)
        lines.append(f"(the step exited {m[1]})" if m else line)
    lines = lines[-12:]
    first = max((i for i, line in enumerate(lines) if re.match(r"(?i)^(error|e:|fatal)\b", line)), default=None)
    picked = lines[first:] if first is not None else lines[-3:]
    return " | ".join(picked)[:600]


class BuildFailed(RuntimeError):
    """One image did not build; the message quotes the end of docker's output."""


def build_dependencies(chosen: list[ImageSpec]) -> dict[str, tuple[str, ...]]:
    """The build graph: for each image, the images of this build it waits for. An image waits for the images it
    starts FROM (a custom image's parents) and for the previous target of the same Dockerfile: the classic builder
    (no BuildKit here) reuses a stage's layers only once another build has made them, so uv-vscode and uv-marimo
    build after uv-lab in seconds, where side by side each would build the shared stages again. Custom images wait
    for each other too: copies of one template, their first steps are twins, and twin steps made side by side leave
    the classic builder's cache following the newer one (see images/singleuser/Dockerfile's first LABEL). Everything
    else (the hub, the production images, the log collector) builds beside them."""
    names = {s.name for s in chosen}
    deps: dict[str, tuple[str, ...]] = {}
    last_of_lane: dict[str, str] = {}
    for spec in chosen:
        lane = "custom images" if spec.folder else spec.dockerfile
        waits = [p.name for p in spec.parents if p.name in names]
        if lane in last_of_lane:
            waits.append(last_of_lane[lane])
        deps[spec.name] = tuple(dict.fromkeys(waits))
        last_of_lane[lane] = spec.name
    return deps


def image_result(spec: ImageSpec, seconds: float | None = None, error: str | None = None) -> dict:
    """One image's entry in the status file, said on the build's output: built in `seconds`, or failed with `error`."""
    if error is not None:
        print(f"[images] FAILED to build {spec.tag}: {error}", flush=True)
        return {"name": spec.name, "tag": spec.tag, "ok": False, "seconds": None, "error": error}
    print(f"[images] built {spec.tag} in {seconds:.0f}s, {image_size(spec.tag) / 1e9:.2f} GB", flush=True)
    return {"name": spec.name, "tag": spec.tag, "ok": True, "seconds": round(seconds, 1), "error": None}


def build_one(spec: ImageSpec, base_image: str) -> dict:
    """Build one image; its result for the status file (a failure is a result, not an exception)."""
    error = missing_dockerfile(spec, HERE)
    if error is not None:
        return image_result(spec, error=error)
    try:
        return image_result(spec, seconds=build(spec, base_image))
    except BuildFailed as exc:
        return image_result(spec, error=str(exc))


def build_graph(chosen: list[ImageSpec], build_image: Callable[[ImageSpec], dict], jobs: int) -> list[dict]:
    """Build `chosen` along build_dependencies, `jobs` at a time, each as soon as what it waits for is done. An
    image whose parent failed is not built (it would start FROM the old image, or none); a failed build does not
    stop the others. Results in `chosen`'s order."""
    deps = build_dependencies(chosen)
    parents = {s.name: {p.name for p in s.parents} for s in chosen}
    results: dict[str, dict] = {}
    pending = list(chosen)
    running: dict[Future, ImageSpec] = {}
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        while pending or running:
            for spec in [s for s in pending if all(d in results for d in deps[s.name])]:
                failed = [results[d]["tag"] for d in deps[spec.name]
                          if d in parents[spec.name] and not results[d]["ok"]]
                if failed:
                    results[spec.name] = image_result(
                        spec, error=f"not built: the image it starts FROM did not build ({', '.join(failed)})")
                elif len(running) < jobs:
                    running[pool.submit(build_image, spec)] = spec
                else:
                    continue
                pending.remove(spec)
            if not running:   # every dependency points to an earlier image, so something is always ready
                assert not pending or any(all(d in results for d in deps[s.name]) for s in pending), pending
                continue
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                spec = running.pop(future)
                results[spec.name] = future.result()
    return [results[s.name] for s in chosen]


def write_status(path: Path, results: list[dict]) -> None:
    """The build's outcome for the acceptance report: {"ok", "finished", "images": [...]}."""
    path.parent.mkdir(parents=True, exist_ok=True)
    status = {"ok": all(r["ok"] for r in results), "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
              "images": results}
    path.write_text(json.dumps(status, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="images to build (hub, uv-lab, ...); default all")
    parser.add_argument("--missing-only", action="store_true", help="skip images that already exist")
    parser.add_argument("--jobs", type=int, default=2, choices=range(1, 5), metavar="N",
                        help="builds side by side, 1-4 (default 2: the host's two cores; see build_dependencies)")
    parser.add_argument("--status-file", type=Path, help="write the outcome as JSON here (read by the report)")
    args = parser.parse_args(argv)

    try:
        specs = image_specs(PROFILES_FILE, HERE)
    except BuildConfigError as exc:
        parser.error(str(exc))
    unknown = set(args.names) - {s.name for s in (*specs, *EXTRA_SPECS)}
    if unknown:
        parser.error(f"unknown image(s) {sorted(unknown)}; known: {[s.name for s in (*specs, *EXTRA_SPECS)]}")
    chosen = [s for s in specs if not args.names or s.name in args.names]
    chosen += [s for s in EXTRA_SPECS if s.name in args.names]   # built only when named
    if args.missing_only:
        chosen = [s for s in chosen if not image_exists(s.tag)]
        if not chosen:
            print("[images] all images present")
            if args.status_file:
                write_status(args.status_file, [])
            return 0

    base = choose_base_image()
    ca = prepare_extra_ca()
    print(f"[images] base image {base}; extra CA for build stages: {ca}")
    start = time.monotonic()
    results = build_graph(chosen, lambda spec: build_one(spec, base), args.jobs)
    print(f"[images] {sum(r['ok'] for r in results)} of {len(results)} built in {time.monotonic() - start:.0f}s "
          f"(wall clock, {args.jobs} at a time)", flush=True)
    if args.status_file:
        write_status(args.status_file, results)
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
