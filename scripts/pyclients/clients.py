"""Drives a running infergate with the real tritonclient (HTTP, its sync,
async_infer and asyncio clients) and kserve's v2 REST client, as Triton and
KServe users would, and prints what each call answered as one JSON object
on stdout, for the Go test that started the server to check
(cmd/infergate/pyclients_test.go).

    clients.py CASES.json

CASES.json: {"url": "127.0.0.1:8080", "models": [{"route": ..., "inputs":
[{"name", "datatype", "shape", "data"}], "outputs": [names]}]}. Data are flat.
"""

import asyncio
import json
import sys

import numpy as np
import tritonclient.http as httpclient
import tritonclient.http.aio as aioclient
from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig
from tritonclient.utils import InferenceServerException

DTYPES = {"FP32": np.float32, "FP64": np.float64, "INT64": np.int64, "INT32": np.int32, "BOOL": np.bool_, "BYTES": np.object_}


def arrays(model):
    out = []
    for i in model["inputs"]:
        if i["datatype"] == "BYTES":
            a = np.array([s.encode() for s in i["data"]], dtype=np.object_)
        else:
            a = np.array(i["data"], dtype=DTYPES[i["datatype"]])
        out.append((i["name"], i["datatype"], a.reshape(i["shape"])))
    return out


def plain(a):
    if a.dtype == np.object_:
        return [x.decode() if isinstance(x, bytes) else x for x in a.ravel().tolist()]
    return a.ravel().tolist()


def request(module, model, binary_in, binary_out):
    inputs = []
    for name, datatype, a in arrays(model):
        i = module.InferInput(name, list(a.shape), datatype)
        i.set_data_from_numpy(a, binary_data=binary_in)
        inputs.append(i)
    outputs = [module.InferRequestedOutput(o, binary_data=binary_out) for o in model["outputs"]]
    return inputs, outputs


def answer(result, model):
    return {o: plain(result.as_numpy(o)) for o in model["outputs"]}


async def aio_calls(url, models):
    client = aioclient.InferenceServerClient(url)
    try:
        out = {"live": await client.is_server_live(), "ready": await client.is_server_ready()}
        for m in models:
            inputs, outputs = request(aioclient, m, True, True)
            out[m["route"]] = answer(await client.infer(m["route"], inputs, outputs=outputs, request_id="aio"), m)
        return out
    finally:
        await client.close()


async def kserve_calls(url, models):
    """kserve's v2 REST client: health, and each model as JSON and binary."""
    client = InferenceRESTClient(RESTConfig(protocol="v2"))
    base = "http://" + url
    try:
        out = {"live": await client.is_server_live(base), "ready": await client.is_server_ready(base)}
        for m in models:
            r = {"ready": await client.is_model_ready(base, m["route"])}
            for mode, binary in (("json", False), ("binary", True)):
                inputs = []
                for name, datatype, a in arrays(m):
                    i = InferInput(name, list(a.shape), datatype)
                    i.set_data_from_numpy(a, binary_data=binary)
                    inputs.append(i)
                result = await client.infer(base, InferRequest(model_name=m["route"], infer_inputs=inputs, request_id=mode), model_name=m["route"])
                r[mode] = {o.name: plain(o.as_numpy()) for o in result.outputs if o.name in m["outputs"]}
            out[m["route"]] = r
        return out
    finally:
        await client.close()


def main():
    with open(sys.argv[1]) as f:
        cases = json.load(f)
    url, models = cases["url"], cases["models"]
    client = httpclient.InferenceServerClient(url, concurrency=4)
    report = {
        "live": client.is_server_live(),
        "ready": client.is_server_ready(),
        "server_metadata": client.get_server_metadata(),
        "models": {},
    }
    for m in models:
        route = m["route"]
        r = {"ready": client.is_model_ready(route), "metadata": client.get_model_metadata(route)}
        for mode, (bin_in, bin_out) in {"json": (False, False), "binary": (True, True), "binary_in": (True, False), "binary_out": (False, True)}.items():
            inputs, outputs = request(httpclient, m, bin_in, bin_out)
            try:
                result = client.infer(route, inputs, outputs=outputs, request_id=mode)
            except InferenceServerException as e:
                sys.exit(f"{route}, {mode}: status {e.status()!r}, message {e.message()!r}, debug {e.debug_details()!r}")
            r[mode] = answer(result, m)
            r[mode + "_id"] = result.get_response().get("id")
        for alg in ("gzip", "deflate"):
            inputs, outputs = request(httpclient, m, True, True)
            result = client.infer(route, inputs, outputs=outputs, request_compression_algorithm=alg, response_compression_algorithm=alg)
            r[alg] = answer(result, m)
        inputs, outputs = request(httpclient, m, True, True)
        pending = [client.async_infer(route, inputs, outputs=outputs) for _ in range(4)]
        r["async"] = [answer(p.get_result(), m) for p in pending]
        report["models"][route] = r
    report["aio"] = asyncio.run(aio_calls(url, models))
    report["kserve"] = asyncio.run(kserve_calls(url, models))
    for m in models:
        report["models"][m["route"]]["config"] = client.get_model_config(m["route"])
        report["models"][m["route"]]["stats"] = client.get_inference_statistics(m["route"])
    report["all_stats"] = client.get_inference_statistics()
    client.close()
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main()
