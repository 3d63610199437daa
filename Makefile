# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv when it is missing.
PYTHON_BOOT ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# torch/torchvision are pinned and installed first so pip never resolves another (multi-GB) build.
TORCH_PINS ?= torch==2.14.1 torchvision==0.29.1
DEMO_DATA ?= data/synthetic
DEMO_WORK ?= work_dirs/zerovl_demo

.PHONY: install demo test clean

install: $(STAMP)

$(STAMP): setup.py requirements/runtime.txt requirements/tests.txt
	test -x $(PY) || $(PYTHON_BOOT) -m venv $(VENV)
	$(PY) -m pip install -q $(TORCH_PINS)
	$(PY) -m pip install -q -r requirements/runtime.txt -r requirements/tests.txt
	$(PY) -m pip install -q --no-build-isolation --no-deps -e .
	touch $@

demo: $(STAMP)
	$(PY) tools/data/make_synthetic.py $(DEMO_DATA)
	$(PY) tools/train.py configs/zerovl/zerovl_demo.py --work-dir $(DEMO_WORK)
	$(PY) tools/test.py configs/zerovl/zerovl_demo.py $(DEMO_WORK)/epoch_$$($(PY) -c \
		"from mmengine import Config; print(Config.fromfile('configs/zerovl/zerovl_demo.py').train_cfg.max_epochs)").pth \
		--work-dir $(DEMO_WORK) --out $(DEMO_WORK)/metrics.json

test: $(STAMP)
	$(PY) -m pytest tests -q

clean:
	rm -rf work_dirs $(DEMO_DATA)
