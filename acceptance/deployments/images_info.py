"""Image facts for Phase 1 and the benchmark: sizes, the size of several images with shared layers
counted once, and which images exceed their size bounds."""
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


def over_bounds(sizes: dict[str, int], bounds: dict[str, int]) -> list[str]:
    """What is wrong with the images' sizes (bytes) against their bounds (bytes, the expected state's): each
    image larger than its bound, or without one."""
    problems = []
    for tag, size in sizes.items():
        bound = bounds.get(tag)
        if bound is None:
            problems.append(f"{tag}: the expected state gives it no size bound (image_sizes)")
        elif size > bound:
            problems.append(f"{tag} is {size / 1e9:.2f} GB, larger than its bound {bound / 1e9:.2f} GB")
    return problems
