# REDS toolkit. `make demo` and `make test` bootstrap everything they need first:
#   1. Debian packages (apt-get when root, otherwise a message naming them),
#   2. .venv with this project installed (editable) and its Python dependencies,
#   3. a project-local PlatformIO core (.pio-core/) holding tool-scons built from the SCons
#      wheel, so firmware builds never need PlatformIO's registry,
#   4. .venv-lab: the lab and flashing tools (labgrid, pyOCD) in a venv of their own. labgrid
#      needs pyserial-labgrid, which ships the same `serial` module as the pyserial that the
#      bench and PlatformIO use; in one venv the two overwrite each other. The bench calls
#      these tools as programs (docs/lab.md), so two venvs cost nothing.
# Every step is idempotent: it does nothing when its result is already there.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
export PLATFORMIO_CORE_DIR := $(CURDIR)/.pio-core
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

DEB_PACKAGES := gcc make gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm espeak-ng \
  gdb-multiarch openocd ser2net
PIP_STAMP := $(VENV)/.installed
SCONS_PKG := $(PLATFORMIO_CORE_DIR)/tool-scons-src/package.json
LAB_VENV := .venv-lab
LAB_TOOLS := labgrid==26.0.1 pyocd==0.46.0
LAB_STAMP := $(LAB_VENV)/.installed

.PHONY: demo test bootstrap debian-packages clean-build help
.DEFAULT_GOAL := help

help:
	@echo "make demo   run the REDS pipeline end to end on the bundled digits dataset"
	@echo "make test   run the whole test suite"
	@echo "make fuzz   fuzz the runtime and the firmware (FUZZ_SECONDS each, see docs/robustness.md)"

demo: bootstrap
	$(VENV)/bin/reds demo

# The device regression tests (tests/device) need a board: CI gives them an emulated one.
test: bootstrap
	$(VPY) -m pytest --ignore=tests/device --durations=25
	$(VPY) -m pytest tests/device --reds-target qemu_m4

bootstrap: debian-packages $(PIP_STAMP) $(SCONS_PKG) $(LAB_STAMP)

debian-packages:
	@missing=""; \
	for pkg in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$pkg 2>/dev/null | grep -q "install ok installed" \
	    || missing="$$missing $$pkg"; \
	done; \
	$(PYTHON) -c "import ensurepip, venv" 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "bootstrap: installing Debian packages:$$missing"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing || exit 1; \
	  else \
	    echo "bootstrap: missing Debian packages:$$missing" >&2; \
	    echo "bootstrap: install them with: sudo apt-get install -y$$missing" >&2; \
	    exit 1; \
	  fi; \
	fi

$(PIP_STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	  || { echo "bootstrap: Python >= 3.11 needed, $(PYTHON) is $$($(PYTHON) --version)" >&2; exit 1; }
	test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --upgrade pip
	$(VPY) -m pip install --quiet -e '.[dev]'
	touch $@

$(SCONS_PKG): $(PIP_STAMP) boards/platforms/make_tool_scons.py
	$(VPY) boards/platforms/make_tool_scons.py $(PLATFORMIO_CORE_DIR)/tool-scons-src

$(LAB_STAMP): Makefile
	test -x $(LAB_VENV)/bin/python || $(PYTHON) -m venv $(LAB_VENV)
	$(LAB_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LAB_VENV)/bin/python -m pip install --quiet $(LAB_TOOLS)
	touch $@

include tests/fuzz/Makefile.fragment

clean-build:
	rm -rf .pio build
