"""The self-tests. test_custom_image.py takes several minutes (it builds an image and runs four steps on two
stacks): CI's run (.ci/run, `nox -s tests`) does not collect it; the nightly workflow sets CUSTOM_IMAGE_SELFTEST=1
and runs it (`nox -s tests -- acceptance/selftest/test_custom_image.py`). Not a skip: a skipped check is never
green here, so without the variable the module is not collected at all."""
import os

collect_ignore = [] if os.environ.get("CUSTOM_IMAGE_SELFTEST") == "1" else ["test_custom_image.py"]
