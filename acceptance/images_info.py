"""Image facts for Phase 1 and the benchmark: sizes, and the size of several images with
shared layers counted once."""
from __future__ import annotations


def image_size(client, tag: str) -> int:
    return int(client.images.get(tag).attrs["Size"])


def shared_size(client, tags: list[str]) -> int:
    """Bytes of the images' build steps, each step shared by several images counted once.

    Steps are told apart by their image id in `docker history`; steps without one
    (pulled images show <missing>) are counted per image."""
    sizes: dict[str, int] = {}
    for tag in tags:
        for i, step in enumerate(client.images.get(tag).history()):
            key = step["Id"] if step["Id"] != "<missing>" else f"{tag}#{i}"
            sizes[key] = step["Size"]
    return sum(sizes.values())
