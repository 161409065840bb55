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
