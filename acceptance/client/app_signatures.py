"""Which app answers a landing page (JupyterLab, VS Code as code-server, marimo), told by what each app itself
serves there, not by a word a page may merely mention: JupyterLab's page config (the JSON script
`jupyter-config-data` whose appName is "JupyterLab"), code-server's workbench configuration (the
`vscode-workbench-web-configuration` meta element), marimo's mount configuration (the script that defines
`window.__MARIMO_MOUNT_CONFIG__`). The survey (Phase 3, Test 8) and the load stage's landing phase use it;
acceptance/unit/app_pages/ holds pages captured from the platform's images."""
from __future__ import annotations

import html
import json
import re

_PAGE_CONFIG = re.compile(r'<script\s+id="jupyter-config-data"\s+type="application/json"\s*>(.*?)</script>', re.S)
_VSCODE = re.compile(r'<meta\s+id="vscode-workbench-web-configuration"\s+data-settings="([^"]*)"')
_MARIMO = re.compile(r'<script\s+data-marimo="true"\s*>\s*Object\.defineProperty\(\s*window,\s*'
                     r'"__MARIMO_MOUNT_CONFIG__"')


def _lab(page: str) -> bool:
    m = _PAGE_CONFIG.search(page)
    if not m:
        return False
    try:
        config = json.loads(m.group(1))
    except ValueError:
        return False
    return isinstance(config, dict) and config.get("appName") == "JupyterLab"


def _vscode(page: str) -> bool:
    m = _VSCODE.search(page)
    if not m:
        return False
    try:
        settings = json.loads(html.unescape(m.group(1)))
    except ValueError:
        return False
    return isinstance(settings, dict) and isinstance(settings.get("productConfiguration"), dict)


def _marimo(page: str) -> bool:
    return _MARIMO.search(page) is not None


SIGNATURES = {"lab": _lab, "vscode": _vscode, "marimo": _marimo}


def app_of(page: str) -> str | None:
    """Which app a landing page is (lab, vscode, marimo); None when none of them, or more than one signature
    (no app serves another's)."""
    found = [app for app, serves in SIGNATURES.items() if serves(page)]
    return found[0] if len(found) == 1 else None
