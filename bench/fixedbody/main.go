// Command fixedbody is the baseline of bench/README.md: a bare fasthttp
// server that answers every request, whatever its method, path or body, with
// one fixed JSON body the size of a gateway prediction response. The gateway's
// throughput on POST /v1/predictions is reported as a fraction of this
// server's, measured in the same run with the same load.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/valyala/fasthttp"
)

// body has the shape and the size (197 bytes with its newline) of the
// gateway's answer to the README's first prediction request.
var body = []byte(`{"model_id":"customer-churn","prediction":"medium_risk","probability":0.3539355,"model_version":"1.0.0","latency_ms":0.286,"request_id":"7d5d6d1ac75a21040000000000000001","route":"customer-churn"}` + "\n")

var contentType = []byte("application/json")

func serve(ctx *fasthttp.RequestCtx) {
	ctx.SetContentTypeBytes(contentType)
	ctx.SetBody(body)
}

func main() {
	listen := flag.String("listen", "127.0.0.1:18090", "address to listen on")
	flag.Parse()
	s := &fasthttp.Server{Name: "fixedbody", Handler: serve}
	fmt.Fprintf(os.Stderr, "fixedbody: serving %d-byte bodies on %s\n", len(body), *listen)
	if err := s.ListenAndServe(*listen); err != nil {
		fmt.Fprintf(os.Stderr, "fixedbody: %v\n", err)
		os.Exit(1)
	}
}
