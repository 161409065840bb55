"""In the hub: print "distribution version" for each of the hub's main packages, then "python version"."""
import importlib.metadata as m
import platform

for d in ("jupyterhub", "dockerspawner", "wrapspawner", "jupyterhub-nativeauthenticator"):
    print(d, m.version(d))
print("python", platform.python_version())
