# The two commands of the course: `make book` and `make test`.
# Each sets up what it needs on a fresh machine (a .venv with the pinned
# requirements, reglab installed editable, MathJax from npm) and skips what is
# already done.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
MATHJAX_VERSION := 3.2.2
MATHJAX := book/_static/mathjax/tex-chtml.js
JB_FLAGS := --path-output book --builder html --warningiserror --keep-going

.PHONY: book test install execute claims student nbgrader lowest browser fashion-mnist clean help
.DEFAULT_GOAL := help

help:
	@echo "make book   build the HTML book into book/_build/html"
	@echo "make test   unit tests, notebook validation (nbval) and a warning-free book build"
	@echo "make install  only create .venv with the pinned requirements and reglab"
	@echo "make execute NB=chapters/01_overfitting.ipynb  re-run a chapter and store its outputs"
	@echo "make claims OFFSET=1  re-run every chapter as another machine would (shifted seeds, plain kernels)"
	@echo "make student  write the student edition (no solutions) to student/ and student.zip"
	@echo "make nbgrader  write an nbgrader course folder (one assignment per chapter) to nbgrader/"
	@echo "make lowest  unit tests on the lowest versions pyproject.toml allows (torch 2.1), in .venv/lowest"

install: $(INSTALLED) fashion-mnist

# Byte-compiled once, on every core: pip compiles one file at a time (about 40 s of CPU), and where
# PYTHONDONTWRITEBYTECODE is set (it is on the machines this course is tested on) Python never caches what it
# compiles, so every kernel, worker and subprocess of `make test` would compile torch's modules again at
# import (about 3 s of CPU each, hundreds of times). compileall's status is ignored, as pip ignores it: a few
# packages ship files that are not Python 3.
$(INSTALLED): requirements.txt requirements-nodeps.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q --no-compile -r requirements.txt
	$(PY) -m pip install --disable-pip-version-check -q --no-compile --no-deps -r requirements-nodeps.txt
	$(PY) -m pip install --disable-pip-version-check -q --no-compile --no-deps --no-build-isolation -e .
	$(PY) -m compileall -qq -j 0 $$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') reglab || true
	touch $@

$(MATHJAX):
	npm install --prefix .npm --no-audit --no-fund --loglevel=error mathjax@$(MATHJAX_VERSION)
	rm -rf book/_static/mathjax
	mkdir -p book/_static
	cp -r .npm/node_modules/mathjax/es5 book/_static/mathjax

book: $(INSTALLED) $(MATHJAX) fashion-mnist
	OMP_NUM_THREADS=1 $(VENV)/bin/jupyter-book build . $(JB_FLAGS)
	@echo
	@echo "The book is built. Open: $(CURDIR)/book/_build/html/index.html"

# The browser test drives Debian's Chromium (no browser download is possible), and fails on any
# character drawn as a missing-glyph box: the errata quote the Chinese sources, so it needs a CJK font.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium) \
	  || echo "Could not install chromium (needs root): tests/test_browser.py will be skipped."; }
	@fc-list :lang=zh 2>/dev/null | grep -q . || { \
	  [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && (apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=120 fonts-noto-cjk) \
	  || echo "Could not install Debian's fonts-noto-cjk (needs root and apt-get): the browser test will fail on the Chinese quotes of the errata."; }

# Fashion-MNIST offline: Debian's dataset-fashion-mnist puts its four files where
# reglab.data.load_fashion_mnist looks. Installed as root only; elsewhere the loader downloads them.
FASHION_MNIST := $(addprefix /usr/share/datasets/fashion-mnist/,train-images-idx3-ubyte.gz \
  train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz)
fashion-mnist:
	@ls $(FASHION_MNIST) >/dev/null 2>&1 || { \
	  [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && (apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=120 dataset-fashion-mnist) \
	  || echo "Could not install Debian's dataset-fashion-mnist (needs root and apt-get): load_fashion_mnist() will download Fashion-MNIST, or set REGLAB_DATA."; }

# Two pytest workers (one per core of the CI machine), each test file and notebook whole on one worker, but
# the full-scale chapter runs one by one (tests/conftest.py); one BLAS/OpenMP thread each (the models are tiny).
test: $(INSTALLED) $(MATHJAX) browser fashion-mnist
	OMP_NUM_THREADS=1 $(PY) -m pytest -n 2 --dist loadfile --durations=25

execute: $(INSTALLED)
	OMP_NUM_THREADS=1 $(PY) scripts/execute_notebook.py $(NB)

# Every seed shifted by OFFSET and PyTorch's plain C++ kernels: do the chapters' asserts still hold?
OFFSET ?= 1
claims: $(INSTALLED)
	$(PY) scripts/check_claims.py --offset $(OFFSET) --jobs 2

student: $(INSTALLED)
	$(PY) scripts/make_student.py student

# An nbgrader course folder: nbgrader_config.py and source/<chNN_name>/ per chapter (see book/instructor.md).
nbgrader: $(INSTALLED)
	$(PY) scripts/make_nbgrader.py nbgrader

# The lower bounds of pyproject.toml, tested: a second venv (inside the ignored .venv/) with every dependency of
# reglab at its lowest allowed version (requirements-lowest.txt; PyPI's torch 2.1 brings its CUDA libraries, about
# 5 GB), then reglab's unit tests and doctests there. The notebooks, the book and the editions need the Jupyter
# stack of requirements.txt and are tested by `make test`.
LOWEST := .venv/lowest
LOWEST_PY := $(LOWEST)/bin/python
LOWEST_SKIP := test_any_machine test_book test_browser test_errata test_figures test_full_scale test_nbgrader \
  test_student test_ablation_dask
$(LOWEST)/.installed: requirements-lowest.txt requirements-nodeps.txt pyproject.toml
	test -x $(LOWEST_PY) || $(PYTHON) -m venv $(LOWEST)
	$(LOWEST_PY) -m pip install --disable-pip-version-check -q -r requirements-lowest.txt
	$(LOWEST_PY) -m pip install --disable-pip-version-check -q --no-deps -r requirements-nodeps.txt
	$(LOWEST_PY) -m pip install --disable-pip-version-check -q --no-deps --no-build-isolation -e .
	touch $@

lowest: $(LOWEST)/.installed fashion-mnist
	$(LOWEST_PY) -c "import torch; print('torch', torch.__version__)"
	OMP_NUM_THREADS=1 $(LOWEST_PY) -m pytest -o addopts="" -p no:cacheprovider --doctest-modules --strict-markers \
	  -n 2 --dist loadfile reglab tests $(addprefix --ignore=tests/,$(addsuffix .py,$(LOWEST_SKIP)))

clean:
	rm -rf book/_build student student.zip nbgrader
