"""SwarmSpawner for the platform on Docker Swarm: each user server is a swarm service.

The same profiles as on one host (image, CPU and memory limits, landing URL), with what a swarm adds:
- reservations: a fraction of each limit (`reserve_fraction`), so the scheduler places servers where
  that much is free; limits stay limits, not reservations;
- a CPU limit above a node's cores is capped at the smallest node's cores, and the hub log says so:
  Docker rejects such a task outright ("Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs
  available") and the task would be retried until the spawn timed out;
- the user's home is a named volume, as on one host.
"""
from __future__ import annotations

import asyncio
import time

from docker.types import Mount
from dockerspawner import SwarmSpawner
from traitlets import Float

REMOVAL_TIMEOUT = 60   # seconds a stop waits for the removed service's container to go


class PlatformSwarmSpawner(SwarmSpawner):
    reserve_fraction = Float(
        0.1, config=True, help="Each server's CPU and memory reservation, as a fraction of its limits.")

    @property
    def mounts(self):
        # dockerspawner 14.0.0 mounts every volume as type "bind", which a named volume is not (the task is
        # rejected: "invalid mount config"; jupyterhub/dockerspawner#536). Remove when a release takes the
        # mount type from the volume (a name, not a path, is a volume).
        return [
            Mount(target=vol["bind"], source=source, read_only=vol["mode"] == "ro",
                  type="bind" if source.startswith("/") else "volume", driver_config=self.mount_driver_config)
            for source, vol in self.volume_binds.items()
        ]

    async def smallest_node_cores(self) -> float:
        nodes = await self.docker("nodes")
        return min(n["Description"]["Resources"]["NanoCPUs"] for n in nodes) / 1e9

    async def create_object(self):
        cores = await self.smallest_node_cores()
        if self.cpu_limit and self.cpu_limit > cores:
            self.log.warning("%s: CPU limit %g capped at %g, the cores of the swarm's smallest node (Docker "
                             "rejects a service CPU limit above a node's cores)", self.service_name,
                             self.cpu_limit, cores)
            self.cpu_limit = cores
        if self.cpu_limit:
            self.cpu_guarantee = round(self.cpu_limit * self.reserve_fraction, 3)
        if self.mem_limit:
            self.mem_guarantee = int(self.mem_limit * self.reserve_fraction)
        return await super().create_object()

    async def get_ip_and_port(self):
        """The running task's own address on the network. Its service name can still resolve to the task of a
        server of the same name stopped a moment before (seen here: the hub waited 120 s on the old address);
        the task's address cannot be stale."""
        task = await self.get_task()
        for attachment in (task or {}).get("NetworksAttachments", []):
            if attachment["Network"]["Spec"]["Name"] == self.network_name and attachment.get("Addresses"):
                return attachment["Addresses"][0].split("/")[0], self.port
        return await super().get_ip_and_port()

    async def remove_object(self):
        """Remove the service and wait until its container is gone: a server started again at once gets a
        service of the same name, whose name must not still resolve to the old container (dnsrr)."""
        service_id = self.object_id
        await super().remove_object()
        deadline = time.monotonic() + REMOVAL_TIMEOUT
        while await self.docker("containers", all=True, filters={"label": f"com.docker.swarm.service.id={service_id}"}):
            if time.monotonic() > deadline:
                self.log.warning("the container of service %s is still there %ss after its removal",
                                 self.service_name, REMOVAL_TIMEOUT)
                return
            await asyncio.sleep(0.5)
