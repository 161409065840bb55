"""Phase 1: Image Building - the images exist, run as nebula, and their sizes are recorded."""
import pytest

from acceptance.images_info import image_size, shared_size
from acceptance.report.plugin import get_collector
from acceptance.settings import IMAGE_SIZE_TARGETS, IMAGES_TOGETHER_TARGET, SPEC_IMAGE_SIZES, profiles
from images.build import HUB_IMAGE

pytestmark = pytest.mark.p1
USER_IMAGES = list(dict.fromkeys(p.image for p in profiles()))


def test_images_exist_and_their_sizes_are_recorded(stack, evidence, request):
    """The hub image and the three single-user images exist; sizes recorded against the specification."""
    client = stack.docker
    rows = []
    for tag in USER_IMAGES:
        size = image_size(client, tag)
        rows.append({"name": tag.split("/")[-1].split(":")[0], "tag": tag, "size_bytes": size,
                     "spec_size": SPEC_IMAGE_SIZES.get(tag, ""), "target_bytes": IMAGE_SIZE_TARGETS.get(tag)})
        evidence.fact(tag, f"{size / 1e9:.2f} GB (specification: {SPEC_IMAGE_SIZES.get(tag, '-')})")
    together = shared_size(client, USER_IMAGES)
    rows.append({"name": "three single-user images, shared layers once", "tag": "", "size_bytes": together,
                 "spec_size": "6.54GB", "target_bytes": IMAGES_TOGETHER_TARGET})
    hub = image_size(client, HUB_IMAGE)
    rows.append({"name": "hub", "tag": HUB_IMAGE, "size_bytes": hub, "spec_size": "", "target_bytes": None})
    evidence.fact("single-user images together (shared layers once)", f"{together / 1e9:.2f} GB")
    evidence.fact(HUB_IMAGE, f"{hub / 1e9:.2f} GB")
    get_collector(request.config).set_images(rows)
    assert len(USER_IMAGES) == 3, f"profiles.yaml names {len(USER_IMAGES)} single-user images, expected 3"


VERSION_PROBE = (
    "id -u; uv --version; jupyterhub-singleuser --version; jupyter lab --version; marimo --version; "
    "if command -v code-server >/dev/null; then code-server --version | head -n1; else echo -; fi"
)


@pytest.mark.parametrize("tag", USER_IMAGES)
def test_single_user_image_runs_jupyterhub_singleuser_as_nebula(stack, tag, evidence, request):
    """Each single-user image runs jupyterhub-singleuser as nebula (uid 1000) in /home/nebula."""
    image = stack.docker.images.get(tag)
    config = image.attrs["Config"]
    assert config["User"] == "nebula", f"{tag} runs as {config['User']!r}, expected nebula"
    assert config["WorkingDir"] == "/home/nebula", f"{tag} starts in {config['WorkingDir']!r}"
    assert config["Cmd"] == ["jupyterhub-singleuser"], f"{tag} command is {config['Cmd']}"
    out = stack.docker.containers.run(tag, ["sh", "-c", VERSION_PROBE], entrypoint=[], remove=True).decode()
    uid, uv, singleuser, lab, marimo, code_server = out.strip().splitlines()
    versions = {"uv": uv.removeprefix("uv "), "jupyterhub-singleuser": singleuser, "JupyterLab": lab,
                "marimo": marimo, "code-server": code_server}
    for name, version in versions.items():
        evidence.fact(name, version)
    get_collector(request.config).set_versions({k: v for k, v in versions.items() if v != "-"})
    assert uid == "1000"
