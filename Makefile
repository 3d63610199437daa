# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv when it is missing.
PYTHON_BOOT ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# torch/torchvision are pinned and installed first so pip never resolves another (multi-GB) build.
TORCH_PINS ?= torch==2.14.1 torchvision==0.29.1
DEMO_DATA ?= data/synthetic
DEMO_WORK ?= work_dirs/zerovl_demo

.PHONY: install assets demo test clean

install: $(STAMP)

# Real labelled images for the classification demos and tests: Debian's dataset-fashion-mnist (31 MB,
# no dependencies). Best effort: without root or apt the tests that need it skip and say why.
FASHION_MNIST ?= /usr/share/datasets/fashion-mnist
assets:
	@test -d $(FASHION_MNIST) || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		{ apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist >/dev/null; } ; } || \
		echo "note: $(FASHION_MNIST) missing and not installable here (needs root and apt-get install dataset-fashion-mnist)"

$(STAMP): setup.py requirements/runtime.txt requirements/tests.txt requirements/benchmark.txt
	test -x $(PY) || $(PYTHON_BOOT) -m venv $(VENV)
	$(PY) -m pip install -q $(TORCH_PINS)
	$(PY) -m pip install -q -r requirements/runtime.txt -r requirements/tests.txt
	# open_clip for the benchmark's --accum-freq row, without dependency resolution (it would touch torch).
	$(PY) -m pip install -q --no-deps -r requirements/benchmark.txt
	$(PY) -m pip install -q --no-build-isolation --no-deps -e .
	touch $@

# Expanded when a recipe uses it (after the install): the last checkpoint of the demo config.
DEMO_CKPT = $(DEMO_WORK)/epoch_$(shell $(PY) -c \
	"from mmengine import Config; print(Config.fromfile('configs/zerovl/zerovl_demo.py').train_cfg.max_epochs)").pth

demo: $(STAMP)
	$(PY) tools/data/make_synthetic.py $(DEMO_DATA)
	$(PY) tools/train.py configs/zerovl/zerovl_demo.py --work-dir $(DEMO_WORK)
	$(PY) tools/test.py configs/zerovl/zerovl_demo.py $(DEMO_CKPT) --work-dir $(DEMO_WORK) \
		--out $(DEMO_WORK)/metrics.json
	$(PY) tools/test.py configs/zero_shot/zerovl_demo_synthetic.py $(DEMO_CKPT) --work-dir $(DEMO_WORK)/zero_shot \
		--out $(DEMO_WORK)/zero_shot_metrics.json

test: $(STAMP) assets
	$(PY) -m pytest tests -q

clean:
	rm -rf work_dirs $(DEMO_DATA)
