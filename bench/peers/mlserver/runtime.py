"""MLServer peer for bench/peers.sh: an ONNX model behind MLServer's V2
REST API, through a custom runtime that runs one onnxruntime session per
worker (one intra-op and one inter-op thread, as infergate's instances).
MLServer's adaptive batching (model-settings.json: max_batch_size,
max_batch_time) concatenates requests along the first dimension before
predict sees them; the peer_batch_rows histogram on the metrics port
counts the rows each predict call ran."""

import os

import numpy as np
import onnxruntime as ort
from mlserver import MLModel, log, register
from mlserver.codecs import NumpyCodec
from mlserver.types import InferenceRequest, InferenceResponse


class OnnxRuntime(MLModel):
    async def load(self) -> bool:
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        self._session = ort.InferenceSession(os.environ["PEER_MODEL"], opts, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name
        self._outputs = [o.name for o in self._session.get_outputs()]
        register("peer_batch_rows", "Rows in one predict call")
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        x = NumpyCodec.decode_input(payload.inputs[0]).astype(np.float32, copy=False)
        log(peer_batch_rows=x.shape[0])
        results = self._session.run(self._outputs, {self._input: x})
        return InferenceResponse(
            model_name=self.name,
            outputs=[NumpyCodec.encode_output(name, value) for name, value in zip(self._outputs, results)],
        )
