"""Small page objects, one per screen the checklist visits."""
from acceptance.client.pages.apps import LabPage, MarimoPage, VSCodePage
from acceptance.client.pages.hub import AdminPage, AuthorizePage, HomePage, LoginPage, SignupPage, SpawnPage

__all__ = ["AdminPage", "AuthorizePage", "HomePage", "LabPage", "LoginPage", "MarimoPage", "SignupPage", "SpawnPage",
           "VSCodePage"]
