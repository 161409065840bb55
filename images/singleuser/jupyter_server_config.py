# Single-user server settings shared by uv-lab, uv-vscode and uv-marimo.
# VS Code comes from jupyter-vscode-proxy's own entry point ({base_url}vscode/).
c = get_config()  # noqa: F821

# marimo at {base_url}proxy/marimo/, the URL the platform promises (the stock
# jupyter-marimo-proxy serves {base_url}marimo/). absolute_url keeps the prefix, so
# marimo is told the same prefix with --base-url.
c.ServerProxy.servers = {
    "proxy/marimo": {
        "command": [
            "marimo", "edit", "--headless", "--no-token", "--skip-update-check",
            "--port", "{port}", "--base-url", "{base_url}proxy/marimo",
        ],
        "absolute_url": True,
        "timeout": 120,
        "launcher_entry": {"enabled": True, "title": "Marimo", "path_info": "proxy/marimo/"},
    },
}

# JupyterHub 6.1.1 reaches the hub through aiohttp, which resolves names with aiodns (c-ares) when it is
# installed (jupyterhub requires it); c-ares caches an answer for its DNS TTL (600 s from Docker's DNS), so a
# hub restarted with a new address was unreachable from running servers for minutes (seen on the swarm stack;
# the same c-ares cache: home-assistant/core#175239). Resolve with the OS (aiohttp's own 10 s cache stays).
# Remove when JupyterHub's HTTP client takes a resolver option or pycares stops caching by default.
import aiohttp.connector  # noqa: E402
import aiohttp.resolver  # noqa: E402

aiohttp.connector.DefaultResolver = aiohttp.resolver.ThreadedResolver
