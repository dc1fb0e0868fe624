-- wrk script for bench/run.sh's v2 scenarios (v2-heavy, mlserver-heavy,
-- pytriton-heavy): one row of the heavy MLP's 16 features as an Open
-- Inference Protocol v2 JSON request, the same bytes to each server.
wrk.method = "POST"
wrk.path = "/v2/models/heavy/infer"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"inputs":[{"name":"features","shape":[1,16],"datatype":"FP32","data":[0.5,-1.25,2,0.75,-0.5,1.5,-2,0.25,1,-0.75,0.125,-1.5,2.5,-0.25,0.875,-1]}]}'
