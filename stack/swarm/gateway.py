"""Publish the swarm hub on one host address: a TCP relay from this container's port to the hub service.

A swarm's routing mesh publishes a port on every interface of every node; deploy.sh runs this relay in a
plain container on the stack's (attachable) overlay network instead, published as `-p ADDRESS:PORT:8000`.
It relays bytes both ways, so HTTP, websockets and TLS pass unchanged.
Usage: python3 gateway.py HUB_HOST:PORT [LISTEN_PORT]
"""
import asyncio
import sys


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


ATTEMPTS = 4   # connection attempts per client connection, each resolving the hub's name anew


async def connect(host: str, port: int):
    """A connection to the hub. Its name is resolved at every attempt: after a hub restart it may name the
    stopped task for a moment, and the new task's address a moment later."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return await asyncio.wait_for(asyncio.open_connection(host, port), 5)
        except (TimeoutError, OSError) as exc:
            print(f"gateway: attempt {attempt} to reach {host}:{port} failed: {exc!r}", flush=True)
            if attempt == ATTEMPTS:
                raise
            await asyncio.sleep(0.25 * attempt)
    raise AssertionError("unreachable")


async def main(target: str, listen_port: int) -> None:
    host, port = target.rsplit(":", 1)

    async def relay(client_reader, client_writer):
        try:
            hub_reader, hub_writer = await connect(host, int(port))
        except (TimeoutError, OSError) as exc:
            print(f"gateway: cannot reach {target}: {exc!r}", flush=True)
            client_writer.close()
            return
        await asyncio.gather(pipe(client_reader, hub_writer), pipe(hub_reader, client_writer))

    server = await asyncio.start_server(relay, "0.0.0.0", listen_port)
    print(f"gateway: relaying :{listen_port} to {target}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 8000))
