"""In the hub: print the scheme of the db_url its configuration file sets (postgresql, sqlite, ...)."""
from traitlets.config import PyFileConfigLoader as L

print(L("/etc/jupyterhub/jupyterhub_config.py").load_config().JupyterHub.db_url.split("://")[0])
