#!/bin/sh
# In a single-user image: the uid it runs as, then the versions of uv, jupyterhub-singleuser, JupyterLab, marimo
# and code-server ("-" when the image has none), one a line.
id -u
uv --version
jupyterhub-singleuser --version
jupyter lab --version
marimo --version
if command -v code-server >/dev/null; then code-server --version | head -n1; else echo -; fi
