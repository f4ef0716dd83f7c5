"""Build the PlatformIO core package `tool-scons` from the SCons installed in this venv.

PlatformIO normally downloads `platformio/tool-scons` from its registry; that registry is not
always reachable, so the bootstrap assembles the same package from the SCons wheel on PyPI:
the `SCons/` tree, a launcher `scons.py`, and a `package.json` with the version PlatformIO pins.
Usage: python boards/platforms/make_tool_scons.py OUT_DIR
"""
import json
import shutil
import sys
from pathlib import Path

import SCons  # the wheel's package; the bootstrap pip-installs `scons`

# PlatformIO 6.x requires tool-scons ~4.41101.0 (i.e. SCons 4.11.1 packaged).
PACKAGE_VERSION = "4.41101.0"
LAUNCHER = '''import sys

from SCons.Script.Main import main

if __name__ == "__main__":
    sys.exit(main())
'''


def build(out: Path) -> Path:
    manifest = out / "package.json"
    if manifest.exists() and json.loads(manifest.read_text()).get("version") == PACKAGE_VERSION:
        return out  # idempotent: already assembled
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    shutil.copytree(Path(SCons.__file__).parent, out / "SCons",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (out / "scons.py").write_text(LAUNCHER)
    manifest.write_text(json.dumps({"name": "tool-scons", "version": PACKAGE_VERSION}) + "\n")
    return out


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make_tool_scons.py OUT_DIR")
    print(build(Path(sys.argv[1]).resolve()))
