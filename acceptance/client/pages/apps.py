"""The apps a profile lands on: JupyterLab, VS Code (code-server), marimo."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from acceptance.settings import Timeouts

APP_LOAD_MS = Timeouts.app_load * 1000


class LabPage:
    def __init__(self, page: Page):
        self.page = page
        self.shell = page.locator("#jp-main-dock-panel")
        self.launcher = page.locator(".jp-Launcher")
        self.card_labels = page.locator(".jp-LauncherCard-label")

    def wait_loaded(self) -> LabPage:
        expect(self.shell).to_be_visible(timeout=APP_LOAD_MS)
        return self

    def launcher_entries(self) -> list[str]:
        expect(self.launcher.first).to_be_visible(timeout=APP_LOAD_MS)
        expect(self.card_labels.first).to_be_visible()
        # entries that open a new browser tab carry a " [↗]" suffix
        return [t.replace("[↗]", "").strip() for t in self.card_labels.all_inner_texts()]

    def open_from_launcher(self, title: str) -> Page:
        """Click a launcher card that opens in a new browser tab (server-proxy apps)."""
        label = self.page.locator(".jp-LauncherCard-label", has_text=re.compile(rf"^{title}( \[↗\])?$"))
        card = self.launcher.locator(".jp-LauncherCard", has=label)
        with self.page.context.expect_page(timeout=Timeouts.navigation * 1000) as new_page:
            card.first.click()
        return new_page.value

    def new_notebook(self) -> None:
        self.launcher.locator('.jp-LauncherCard[data-category="Notebook"]').first.click()
        expect(self.page.locator(".jp-NotebookPanel .jp-Cell").first).to_be_visible(timeout=APP_LOAD_MS)

    def type_in_first_cell(self, code: str) -> None:
        editor = self.page.locator(".jp-NotebookPanel:visible .jp-Cell .cm-content").first
        editor.click()
        self.page.keyboard.type(code)

    def save_as(self, filename: str) -> None:
        """Save a new notebook; JupyterLab 4 asks for a name on the first save of an untitled file."""
        self.page.keyboard.press("Control+s")
        dialog = self.page.locator(".jp-Dialog")
        expect(dialog).to_be_visible()
        dialog.get_by_role("textbox").fill(filename)
        dialog.get_by_role("button", name=re.compile("Rename|Save", re.I)).click()
        expect(dialog).to_be_hidden()
        expect(self.page.locator(".jp-mod-current .lm-TabBar-tabLabel, .lm-TabBar-tab.jp-mod-current")
               .filter(has_text=filename).first).to_be_visible()

    def open_file(self, base_url: str, path: str) -> None:
        self.page.goto(f"{base_url}lab/tree/{path}")
        self.wait_loaded()

    def cell_sources(self) -> list[str]:
        cells = self.page.locator(".jp-NotebookPanel:visible .jp-Cell .cm-content")
        expect(cells.first).to_be_visible(timeout=APP_LOAD_MS)
        return [t for t in cells.all_inner_texts()]


class VSCodePage:
    def __init__(self, page: Page):
        self.page = page
        self.workbench = page.locator(".monaco-workbench")

    def wait_loaded(self) -> VSCodePage:
        expect(self.workbench).to_be_visible(timeout=APP_LOAD_MS)
        expect(page_part(self.page, "activitybar")).to_be_visible(timeout=APP_LOAD_MS)
        return self

    def trust_workspace_if_asked(self) -> None:
        trust = self.page.get_by_role("button", name=re.compile("Yes, I trust the authors", re.I))
        try:
            trust.wait_for(state="visible", timeout=3000)
        except Exception:  # noqa: BLE001 - no trust prompt on this workspace
            return
        trust.click()

    def run_in_new_terminal(self, command: str) -> None:
        self.page.keyboard.press("F1")
        palette = self.page.locator(".quick-input-widget input")
        expect(palette).to_be_visible()
        palette.fill(">Terminal: Create New Terminal")
        expect(self.page.locator(".quick-input-list .monaco-list-row").first).to_be_visible()
        self.page.keyboard.press("Enter")
        # the terminal draws on a canvas: wait for its screen, then type into its input
        # (the pty buffers keystrokes until the shell reads them)
        expect(self.page.locator(".xterm-screen").first).to_be_visible(timeout=APP_LOAD_MS)
        self.page.locator(".xterm-helper-textarea").first.focus()
        self.page.keyboard.type(command)
        self.page.keyboard.press("Enter")


def page_part(page: Page, part: str):
    return page.locator(f".part.{part}")


class MarimoPage:
    """marimo's home (file list, "Create a new notebook") and its notebook editor."""

    def __init__(self, page: Page):
        self.page = page
        self.new_notebook_link = page.get_by_role("link", name="Create a new notebook")
        self.filename = page.get_by_test_id("dir-completion-input")
        self.editors = page.locator("[data-testid=cell-editor] .cm-content")
        self.outputs = page.locator("[data-cell-role=output]")

    def wait_home_loaded(self) -> MarimoPage:
        expect(self.new_notebook_link).to_be_visible(timeout=APP_LOAD_MS)
        return self

    def new_notebook(self, filename: str) -> MarimoPage:
        """Open a new notebook (its link targets a new tab: follow it here) and name it."""
        self.page.goto(self.new_notebook_link.get_attribute("href"))
        expect(self.editors.first).to_be_visible(timeout=APP_LOAD_MS)
        self.filename.fill(filename)
        self.filename.press("Enter")
        self.page.wait_for_url(re.compile(rf"file={re.escape(filename)}"))
        return self

    def add_python_cell(self) -> None:
        count = self.editors.count()
        self.page.get_by_role("button", name="Python", exact=True).first.click()
        expect(self.editors).to_have_count(count + 1)

    def set_cell(self, index: int, code: str) -> None:
        """Replace cell `index`'s code and run it (marimo then re-runs the cells that depend on it)."""
        self.editors.nth(index).click()
        self.page.keyboard.press("Control+a")
        self.page.keyboard.type(code)
        self.page.keyboard.press("Control+Enter")

    def output_of_last_cell(self):
        return self.outputs.last

    def save(self) -> None:
        self.page.keyboard.press("Control+s")
