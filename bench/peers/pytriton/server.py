"""nvidia-pytriton peer for bench/peers.sh: a real Triton Inference Server
(the tritonserver binary pytriton ships) with dynamic batching in front of
two model instances, each an onnxruntime session with one intra-op and one
inter-op thread (as infergate's instances), behind Triton's V2 REST API."""

import os

import numpy as np
import onnxruntime as ort
from pytriton.decorators import batch
from pytriton.model_config import DynamicBatcher, ModelConfig, Tensor
from pytriton.triton import Triton, TritonConfig

MODEL = os.environ["PEER_MODEL"]
INSTANCES = int(os.environ.get("INSTANCES", "2"))
DELAY_US = int(os.environ.get("DELAY_US", "0"))


def instance():
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    session = ort.InferenceSession(MODEL, opts, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    outputs = [o.name for o in session.get_outputs()]

    @batch
    def infer(**inputs):
        results = session.run(outputs, {name: inputs[name].astype(np.float32, copy=False)})
        return dict(zip(outputs, results))

    return infer, name, outputs, session


def main():
    instances = [instance() for _ in range(INSTANCES)]
    _, name, outputs, session = instances[0]
    width = session.get_inputs()[0].shape[1]
    out_widths = [o.shape[1] for o in session.get_outputs()]
    config = TritonConfig(http_port=int(os.environ.get("PORT", "18080")), grpc_port=18090, metrics_port=18091)
    with Triton(config=config) as triton:
        triton.bind(
            model_name="heavy",
            infer_func=[i[0] for i in instances],
            inputs=[Tensor(name=name, dtype=np.float32, shape=(width,))],
            outputs=[Tensor(name=o, dtype=np.float32, shape=(w,)) for o, w in zip(outputs, out_widths)],
            config=ModelConfig(max_batch_size=64, batcher=DynamicBatcher(max_queue_delay_microseconds=DELAY_US)),
            strict=True,
        )
        triton.serve()


if __name__ == "__main__":
    main()
