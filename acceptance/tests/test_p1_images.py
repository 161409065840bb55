"""Phase 1: Image Building - the specification's three single-user images exist, were built from this
checkout (not stale), run as nebula, and are no larger than the specification measured them (their sizes
recorded)."""
import json
import os

import pytest
from docker.errors import ImageNotFound

from acceptance import probes
from acceptance.deployments.images_info import image_size, over_bounds, shared_size
from acceptance.report.collect import get_collector
from acceptance.run_state import expected_state
from acceptance.settings import IMAGE_SIZE_TARGETS, IMAGES_DIR, IMAGES_TOGETHER_TARGET, PROFILES_FILE
from images.build import HUB_IMAGE, INPUTS_LABEL, image_specs, inputs_hash

pytestmark = pytest.mark.p1


def pytest_generate_tests(metafunc):
    """`tag`: each single-user image of the run's expected state (and, for the build check, the hub's)."""
    if "tag" in metafunc.fixturenames:
        images = expected_state(metafunc.config).images
        metafunc.parametrize("tag", [*images, HUB_IMAGE] if metafunc.function is test_image_is_built_from_this_checkout
                             else images)


def build_failures() -> dict[str, str]:
    """Images the run's build (IMAGE_BUILD_STATUS, written by `nox`) failed to build: tag -> error."""
    path = os.environ.get("IMAGE_BUILD_STATUS")
    if not path:
        return {}
    try:
        status = json.loads(open(path).read())
    except (OSError, ValueError) as exc:
        return {"(all)": f"the build's status file {path} is unreadable: {exc}"}
    return {i["tag"]: i["error"] for i in status.get("images", []) if not i.get("ok")}


@pytest.mark.own_stack
def test_image_is_built_from_this_checkout(stack, tag, evidence):
    """The image exists, this run's build of it succeeded, and its build-inputs label matches the checkout
    (a stale image fails)."""
    failed = build_failures()
    assert tag not in failed and "(all)" not in failed, \
        f"the build of {tag} failed in this run: {failed.get(tag) or failed.get('(all)')}"
    try:
        image = stack.docker.images.get(tag)
    except ImageNotFound:
        raise AssertionError(f"{tag} is not on this Docker host: build it with `nox -s images`") from None
    spec = next((s for s in image_specs(PROFILES_FILE) if s.tag == tag), None)
    assert spec is not None, f"the checkout builds no image {tag} (images/build.py, stack/profiles.yaml)"
    want = inputs_hash(spec, IMAGES_DIR)
    have = (image.attrs["Config"].get("Labels") or {}).get(INPUTS_LABEL)
    evidence.fact("image id", image.id[:19])
    evidence.fact("build inputs", f"image {str(have)[:12]}, checkout {want[:12]}")
    assert have == want, (f"{tag} is stale: built from inputs {str(have)[:12]}, the checkout's "
                          f"images/{spec.dockerfile.split('/')[0]}/ is {want[:12]}; rebuild with `nox -s images`")


def test_image_sizes_are_recorded(stack, expected, evidence, request):
    """The three single-user images' sizes, recorded against the specification's and the project's targets; each
    no larger than the specification's measured size (the expected state's `image_sizes`)."""
    client = stack.require_docker("the images on the deployment's host")
    images, spec_sizes, bounds = expected.images, expected.image_sizes, expected.image_max_bytes
    rows, sizes = [], {}
    for tag in images:
        size = sizes[tag] = image_size(client, tag)
        rows.append({"name": tag.split("/")[-1].split(":")[0], "tag": tag, "size_bytes": size,
                     "spec_size": spec_sizes.get(tag, ""), "target_bytes": IMAGE_SIZE_TARGETS.get(tag)})
        evidence.fact(tag, f"{size / 1e9:.2f} GB (specification: {spec_sizes.get(tag, '-')})")
    together = shared_size(client, images)
    spec_together = f"{sum(bounds.get(tag, 0) for tag in images) / 1e9:.2f}GB" if set(images) <= set(bounds) else ""
    rows.append({"name": "three single-user images, shared layers once", "tag": "", "size_bytes": together,
                 "spec_size": spec_together, "target_bytes": IMAGES_TOGETHER_TARGET})
    hub = image_size(client, HUB_IMAGE)
    rows.append({"name": "hub", "tag": HUB_IMAGE, "size_bytes": hub, "spec_size": "", "target_bytes": None})
    evidence.fact("single-user images together (shared layers once)", f"{together / 1e9:.2f} GB")
    evidence.fact(HUB_IMAGE, f"{hub / 1e9:.2f} GB")
    get_collector(request.config).set_images(rows)
    problems = over_bounds(sizes, bounds)
    assert not problems, "; ".join(problems)


def test_single_user_image_runs_jupyterhub_singleuser_as_nebula(stack, expected, tag, evidence, request):
    """Each single-user image runs jupyterhub-singleuser as nebula (uid 1000) in /home/nebula."""
    image = stack.require_docker("the images on the deployment's host").images.get(tag)
    config = image.attrs["Config"]
    home = expected.users["home"]
    assert config["WorkingDir"] == home, f"{tag} starts in {config['WorkingDir']!r}, expected {home}"
    assert config["Cmd"] == ["jupyterhub-singleuser"], f"{tag} command is {config['Cmd']}"
    out = stack.docker.containers.run(tag, ["sh", "-c", probes.shell("image_versions")], entrypoint=[], remove=True,
                                      network_mode="none", name=stack.scratch_name(f"probe-{tag.split('/')[-1][:20]}")
                                      .replace(":", "-")).decode()
    uid, uv, singleuser, lab, marimo, code_server = out.strip().splitlines()
    versions = {"uv": uv.removeprefix("uv "), "jupyterhub-singleuser": singleuser, "JupyterLab": lab,
                "marimo": marimo, "code-server": code_server}
    for name, version in versions.items():
        evidence.fact(name, version)
    get_collector(request.config).set_versions({k: v for k, v in versions.items() if v != "-"})
    assert int(uid) == expected.users["uid"], f"{tag} runs as uid {uid}, expected {expected.users['uid']}"
