"""The Locust user: runs one journey (acceptance/load/journey.py) and stops. Importing this module imports
Locust, which monkey-patches the process for gevent."""
from __future__ import annotations

from locust import User, constant, task
from locust.exception import StopUser

from acceptance.load.journey import JourneyRun, RunContext


class JourneyUser(User):
    """A Locust user that runs one journey and stops; `context` is set on a subclass per run."""
    abstract = True
    wait_time = constant(0)
    context: RunContext | None = None

    @task
    def once(self) -> None:
        index = self.context.next_index()
        if index is not None:
            JourneyRun(self.context, index, self.environment.events.request.fire).run()
        raise StopUser()


def user_class(ctx: RunContext) -> type[JourneyUser]:
    return type("LoadUser", (JourneyUser,), {"abstract": False, "context": ctx})
