"""Which app answers a landing page: each app by what it serves (pages captured from the platform's images in
app_pages/), not by a word another page may mention."""
from pathlib import Path

import pytest

from acceptance.client.app_signatures import app_of

PAGES = Path(__file__).with_name("app_pages")


def page(name: str) -> str:
    return (PAGES / name).read_text()


@pytest.mark.parametrize(("name", "app"), [("lab.html", "lab"), ("vscode.html", "vscode"), ("marimo.html", "marimo")])
def test_each_apps_own_landing_page_is_that_app(name, app):
    assert app_of(page(name)) == app


def test_a_lab_page_naming_a_marimo_notebook_is_still_lab():
    text = page("lab-marimo-notebook.html")
    assert "marimo" in text and "workbench" in text
    assert app_of(text) == "lab"


@pytest.mark.parametrize("text", [
    "<html><title>500 : Internal Server Error</title><body>The VS Code workbench failed to load</body></html>",
    "<html><title>Error</title><body>marimo exited with status 1</body></html>",
    "<html><title>JupyterLab</title><body>502 Bad Gateway</body></html>",
    '<meta name="vscode-workbench-web-configuration">',
    '<script id="jupyter-config-data" type="application/json">{"appName": "Jupyter Notebook"}</script>',
    "",
])
def test_a_page_that_only_mentions_an_app_is_no_app(text):
    assert app_of(text) is None


@pytest.mark.parametrize("name", ["hub-not-running-vscode-workbench.html", "hub-not-running-marimo.html",
                                  "jupyter-server-404.html"])
def test_an_error_page_is_no_app(name):
    """The hub's "Server not running" page for /user/<name>/vscode/workbench or .../proxy/marimo/ (the word in
    its spawn link), Jupyter Server's 404 page."""
    assert app_of(page(name)) is None


def test_a_page_with_two_apps_signatures_is_no_app():
    assert app_of(page("lab.html") + page("marimo.html")) is None
