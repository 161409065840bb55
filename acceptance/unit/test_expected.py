"""The expected-state file and its loader; the spawn form's options; the images' build-inputs hash and size
bounds."""
from __future__ import annotations

import shutil

import pytest
import yaml

from acceptance import expected
from acceptance.client.servers import spawn_form_options
from acceptance.deployments.images_info import over_bounds
from acceptance.settings import ROOT
from images import build


def test_the_default_file_transcribes_the_specifications_six_profiles():
    state = expected.load()
    assert [p.name for p in state.profiles] == [
        "uv Lab - 2 CPU / 4GB", "uv Lab - 4 CPU / 8GB", "uv VS Code - 2 CPU / 4GB", "uv VS Code - 4 CPU / 8GB",
        "uv Marimo - 1 CPU / 2GB", "uv Marimo - 2 CPU / 4GB"]
    assert {p.app: p.lands_on for p in state.profiles} == {"lab": "/lab", "vscode": "/vscode/",
                                                           "marimo": "/proxy/marimo/"}
    assert state.checklist_profile("T5").name == "uv Marimo - 1 CPU / 2GB"
    assert len(state.sha256) == 64


def test_names_render_with_the_deployments_prefix_and_project():
    state = expected.load()
    assert state.name("hub_container") == "jupyterhub-hub"
    assert state.name("data_volume") == "jhub-docker_jupyterhub_data"
    assert state.name("data_volume", prefix="jhvab12-", project="jhvab12") == "jhvab12_jupyterhub_data"
    assert state.name("home_volume", prefix="p-", username="ann") == "p-jupyterhub-user-ann"


def test_limits_in_docker_units():
    lab = expected.load().profile("uv Lab - 4 CPU / 8GB")
    assert (lab.mem_bytes, lab.cpu_quota, lab.id) == (8 * 1024**3, 400_000, "lab-4cpu-8g")


def _copy(tmp_path, change):
    data = yaml.safe_load(expected.DEFAULT_FILE.read_text())
    change(data)
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(("change", "words"), [
    (lambda d: d.pop("profiles"), "missing section"),
    (lambda d: d["profiles"][0].pop("memory"), "profile #1"),
    (lambda d: d["profiles"][1].update(app="jupyter"), "'jupyter'"),
    (lambda d: d["profiles"][2].update(memory="4 gigs"), "4 gigs"),
    (lambda d: d["checklist_profiles"].update(T3="no such"), "no such"),
    (lambda d: d["image_sizes"].update({"local/uv-lab:latest": "big"}), "image_sizes local/uv-lab:latest"),
])
def test_a_malformed_file_is_refused_with_a_message_naming_the_entry(tmp_path, change, words):
    with pytest.raises(expected.ExpectedStateError) as info:
        expected.load(_copy(tmp_path, change))
    assert words in str(info.value)


def test_the_single_user_command_is_jupyterhub_singleuser():
    assert expected.load().singleuser_command == ["jupyterhub-singleuser"]


@pytest.mark.parametrize("change", [lambda d: d.pop("singleuser"), lambda d: d["singleuser"].update(command="x y")])
def test_a_missing_or_malformed_single_user_command_is_refused_when_asked_for(tmp_path, change):
    state = expected.load(_copy(tmp_path, change))  # optional: the file loads
    with pytest.raises(expected.ExpectedStateError, match="singleuser.command"):
        _ = state.singleuser_command


def test_the_image_size_bounds_are_the_specifications_measured_sizes():
    state = expected.load()
    assert state.image_sizes == {"local/uv-lab:latest": "1.94GB", "local/uv-vscode:latest": "2.62GB",
                                 "local/uv-marimo:latest": "1.98GB"}
    assert state.image_max_bytes["local/uv-vscode:latest"] == 2_620_000_000
    assert expected.image_size_bytes("850MB") == 850_000_000


def test_an_image_larger_than_its_bound_fails():
    bounds = expected.load().image_max_bytes
    sizes = {"local/uv-lab:latest": 1_230_000_000, "local/uv-vscode:latest": 2_700_000_000,
             "local/uv-marimo:latest": 1_980_000_000}
    assert over_bounds(sizes, bounds) == ["local/uv-vscode:latest is 2.70 GB, larger than its bound 2.62 GB"]
    assert over_bounds({**sizes, "local/uv-vscode:latest": 1_400_000_000}, bounds) == []


def test_an_image_without_a_bound_fails():
    assert over_bounds({"local/uv-lab:latest": 1}, {}) == [
        "local/uv-lab:latest: the expected state gives it no size bound (image_sizes)"]


def test_another_file_is_used_and_named_by_its_hash(tmp_path):
    path = _copy(tmp_path, lambda d: d["profiles"].pop())
    state = expected.for_run(path)
    assert len(state.profiles) == 5 and state.path == path.resolve()
    assert state.sha256 != expected.load().sha256


def test_spawn_form_options_read_names_and_values():
    html = ('<form id="spawn_form"><select class="form-control" name="profile" required>'
            '<option value="lab-2" selected>uv Lab - 2 CPU / 4GB</option>\n<option value="m&amp;1">A &amp; B</option>'
            '</select></form>')
    assert spawn_form_options(html) == {"uv Lab - 2 CPU / 4GB": "lab-2", "A & B": "m&1"}
    with pytest.raises(AssertionError, match="no profile dropdown"):
        spawn_form_options("<form></form>")
    reordered = ('<select id="p" name="other"><option value="x">X</option></select>'
                 '<select required name="profile"><option selected value="lab-2">\n  uv Lab  </option>'
                 "<option data-x='1' value='m&amp;1'>A &amp; B</option><option>Plain</option></select>")
    assert spawn_form_options(reordered) == {"uv Lab": "lab-2", "A & B": "m&1", "Plain": "Plain"}


def test_the_xsrf_field_is_read_whatever_the_order_of_its_attributes():
    from acceptance.client.forms import field_value
    assert field_value('<input type="hidden" name="_xsrf" value="2|ab&amp;c"/>', "_xsrf") == "2|ab&c"
    assert field_value('<input value="tok" type="hidden" name="_xsrf">', "_xsrf") == "tok"
    assert field_value('<input name="_xsrf" value=""><input name="other" value="v">', "_xsrf") is None


def test_build_inputs_hash_follows_the_images_files_but_not_the_hosts_ca(tmp_path):
    images = tmp_path / "images"
    shutil.copytree(ROOT / "images", images, ignore=shutil.ignore_patterns("__pycache__"))
    specs = {s.name: s for s in build.image_specs()}
    before = {n: build.inputs_hash(s, images) for n, s in specs.items()}
    assert before["uv-lab"] != before["uv-vscode"] != before["hub"]
    (images / "ca" / "extra-ca.pem").write_text("another host's CA")
    assert {n: build.inputs_hash(s, images) for n, s in specs.items()} == before
    (images / "singleuser" / "jupyter_server_config.py").write_text("# changed\n")
    after = {n: build.inputs_hash(s, images) for n, s in specs.items()}
    assert after["hub"] == before["hub"] and after["uv-marimo"] != before["uv-marimo"]
