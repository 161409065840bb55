"""Small page objects, one per screen the checklist visits."""
from acceptance.pages.apps import LabPage, MarimoPage, VSCodePage
from acceptance.pages.hub import AdminPage, HomePage, LoginPage, SignupPage, SpawnPage

__all__ = ["AdminPage", "HomePage", "LabPage", "LoginPage", "MarimoPage", "SignupPage", "SpawnPage", "VSCodePage"]
