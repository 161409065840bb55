"""Root conftest: the harness's fixtures and the deployment report are plugins under acceptance/."""
pytest_plugins = ["acceptance.report.plugin", "acceptance.verify", "acceptance.fixtures.hooks",
                  "acceptance.fixtures.stack", "acceptance.fixtures.hub", "acceptance.fixtures.browser"]
