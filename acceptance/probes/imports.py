"""In a user server's container, as its user with its environment (the kernel's Python, first on PATH): import
each module named in argv[1] (JSON: {"imports": [...], "commands": [...]}) and look each command up on PATH;
print one JSON object: the interpreter, and for each module its version or the error, for each command its
path or null; and the interpreter the default Python kernel (kernelspec python3) starts, when there is one."""
import importlib
import json
import shutil
import sys

wanted = json.loads(sys.argv[1])
modules = {}
for name in wanted.get("imports", []):
    try:
        module = importlib.import_module(name)
    except Exception as exc:  # noqa: BLE001 - any failure to import is the finding, reported by name
        modules[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    else:
        modules[name] = {"ok": True, "version": str(getattr(module, "__version__", "")),
                         "file": str(getattr(module, "__file__", ""))}
try:
    from jupyter_client.kernelspec import KernelSpecManager

    argv0 = KernelSpecManager().get_kernel_spec("python3").argv[0]
    kernel = shutil.which(argv0) or argv0
except Exception as exc:  # noqa: BLE001 - no Jupyter kernel here (reported, not a failure by itself)
    kernel = f"none ({type(exc).__name__})"
print(json.dumps({"python": sys.executable, "version": sys.version.split()[0], "kernel": kernel, "imports": modules,
                  "commands": {name: shutil.which(name) for name in wanted.get("commands", [])}}))
