"""In an image's Python: print, as JSON, {distribution: version} of those of argv[1:] that are installed."""
import json
import sys
from importlib.metadata import PackageNotFoundError, version

out = {}
for name in sys.argv[1:]:
    try:
        out[name] = version(name)
    except PackageNotFoundError:
        pass
print(json.dumps(out))
