"""Benchmark: prints figures, enforces nothing.

    python -m acceptance.benchmark [--builds]

Image sizes against the targets, hub start (compose up -> API answers), and per profile
the spawn time (REST start -> ready), the landing page's first answer, and the stop time.
With --builds, also the time of a cached rebuild of each image.
"""
from __future__ import annotations

import argparse
import time

import docker

from acceptance.expected import current
from acceptance.hub_api import HubAPI, HubSession
from acceptance.images_info import image_size, shared_size
from acceptance.servers import Servers, read_offered_profiles
from acceptance.settings import IMAGE_SIZE_TARGETS, IMAGES_TOGETHER_TARGET, SPEC_IMAGE_SIZES, Timeouts
from acceptance.stack import StackRun
from images import build


def _gb(n: float) -> str:
    return f"{n / 1e9:.2f} GB"


def sizes(client) -> None:
    tags = current().images
    print(f"\n{'image':28} {'size':>9} {'target':>9} {'spec':>8}  within")
    for tag in tags:
        size, target = image_size(client, tag), IMAGE_SIZE_TARGETS.get(tag)
        ok = "yes" if target and size <= target else "NO"
        print(f"{tag:28} {_gb(size):>9} {_gb(target):>9} {SPEC_IMAGE_SIZES[tag]:>8}  {ok}")
    together = shared_size(client, tags)
    ok = "yes" if together <= IMAGES_TOGETHER_TARGET else "NO"
    label = "three together (shared once)"
    print(f"{label:28} {_gb(together):>9} {_gb(IMAGES_TOGETHER_TARGET):>9} {'6.54GB':>8}  {ok}")
    print(f"{build.HUB_IMAGE:28} {_gb(image_size(client, build.HUB_IMAGE)):>9}")


def builds() -> None:
    base = build.choose_base_image()
    build.prepare_extra_ca()
    print("\ncached rebuilds:")
    for spec in build.image_specs():
        print(f"  {spec.tag:28} {build.build(spec, base):6.1f} s")


def stack_times() -> None:
    run = StackRun()
    try:
        t0 = time.monotonic()
        run.up()
        print(f"\nhub start (compose up -> API answers): {time.monotonic() - t0:.1f} s")
        session = HubSession(run.hub_url)
        password = "Bench-" + run.run_id * 2
        session.signup("admin", password)
        session.login("admin", password)
        api = HubAPI(run.hub_url, session.create_token("admin", "benchmark"))
        servers = Servers(api, run, read_offered_profiles(run.hub_url, "admin", password, api))
        print(f"{'profile':28} {'spawn':>7} {'landing':>8} {'stop':>6}")
        for p in current().profiles:
            name = f"bench-{p.id}"
            server = servers.start("admin", name, p)
            t1 = time.monotonic()
            status = api.server_get(server.url, timeout=Timeouts.app_load).status_code
            landing = time.monotonic() - t1
            t2 = time.monotonic()
            servers.stop("admin", name)
            print(f"{p.name:28} {server.spawn_seconds:6.1f}s {landing:7.1f}s {time.monotonic() - t2:5.1f}s"
                  + ("" if status == 200 else f"  (landing HTTP {status})"))
        api.close()
        session.close()
    finally:
        run.down()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--builds", action="store_true", help="also time a cached rebuild of each image")
    args = parser.parse_args()
    sizes(docker.from_env())
    if args.builds:
        builds()
    stack_times()


if __name__ == "__main__":
    main()
