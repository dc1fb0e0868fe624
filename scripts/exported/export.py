"""Exports models the way users export them, for infergate's tests.

Writes into the folder given as the only argument:
  sklearn_pipeline.onnx  StandardScaler + LogisticRegression (3 classes) through skl2onnx:
                         input X [None, 4]; outputs label int64 [None],
                         probabilities float [None, 3] (zipmap off)
  lightgbm.onnx          a LightGBM binary classifier through onnxmltools: input input
                         [None, 5]; outputs label int64 [None], probabilities float [None, 2]
  torch_mlp.onnx         a small PyTorch MLP through torch.onnx.export with a dynamic batch
                         axis: input x [batch, 8]; output y [batch, 3]
Every model is trained or initialised from fixed seeds, so the files are the same on
every run.
"""

import sys
from pathlib import Path

import numpy as np


def sklearn_pipeline(out: Path) -> None:
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    centers = np.array([[0, 0, 0, 0], [3, 1, -2, 0.5], [-2, 3, 1, -1]], dtype=np.float32)
    y = rng.integers(0, 3, 600)
    x = (centers[y] + rng.normal(0, 1, (600, 4)) * np.array([1, 5, 0.5, 2])).astype(np.float32)
    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    pipe.fit(x, y)
    onx = to_onnx(pipe, x[:1], options={id(pipe.steps[-1][1]): {"zipmap": False}}, target_opset=17)
    (out / "sklearn_pipeline.onnx").write_bytes(onx.SerializeToString())


def lightgbm_model(out: Path) -> None:
    import lightgbm
    from onnxmltools import convert_lightgbm
    from onnxmltools.convert.common.data_types import FloatTensorType

    rng = np.random.default_rng(1)
    x = rng.normal(0, 1, (800, 5)).astype(np.float32)
    y = ((x[:, 0] * 1.5 - x[:, 1] + 0.5 * x[:, 2] * x[:, 3] + rng.normal(0, 0.3, 800)) > 0).astype(int)
    clf = lightgbm.LGBMClassifier(n_estimators=20, num_leaves=8, random_state=1, verbose=-1, deterministic=True, n_jobs=1)
    clf.fit(x, y)
    onx = convert_lightgbm(clf, initial_types=[("input", FloatTensorType([None, 5]))], zipmap=False, target_opset=15)
    (out / "lightgbm.onnx").write_bytes(onx.SerializeToString())


def torch_mlp(out: Path) -> None:
    import torch

    torch.manual_seed(2)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3)).eval()
    torch.onnx.export(
        model, torch.zeros(1, 8), str(out / "torch_mlp.onnx"),
        input_names=["x"], output_names=["y"], dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, opset_version=17,
    )


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    sklearn_pipeline(out)
    lightgbm_model(out)
    torch_mlp(out)


if __name__ == "__main__":
    main()
