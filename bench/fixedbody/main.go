// Command fixedbody is the baseline of bench/README.md: a bare fasthttp
// server (target.FixedServer) that answers every request, whatever its
// method, path or body, with one fixed JSON body the size of a gateway
// prediction response. The gateway's throughput on POST /v1/predictions is
// reported as a fraction of this server's, measured in the same run with
// the same load.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/infergate/infergate/bench/target"
)

// predictionBody has the shape and the size (197 bytes with its newline) of
// the gateway's answer to the README's first prediction request.
var predictionBody = []byte(`{"model_id":"customer-churn","prediction":"medium_risk","probability":0.3539355,"model_version":"1.0.0","latency_ms":0.286,"request_id":"7d5d6d1ac75a21040000000000000001","route":"customer-churn"}` + "\n")

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "fixedbody: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	listen := flag.String("listen", "127.0.0.1:18090", "address to listen on")
	size := flag.Int("body-bytes", 0, "size of the answer in bytes, a JSON object padded to it; 0 answers a gateway prediction response ("+fmt.Sprint(len(predictionBody))+" bytes)")
	flag.Parse()
	body, err := answer(*size)
	if err != nil {
		return err
	}
	srv, err := target.StartFixedServer(*listen, body)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "fixedbody: serving %d-byte bodies on %s\n", len(body), srv.Addr())
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	<-stop
	return srv.Close()
}

// answer is the body of size bytes: {"pad":"xxx…"} and a newline.
func answer(size int) ([]byte, error) {
	const frame = len(`{"pad":""}` + "\n")
	switch {
	case size == 0:
		return predictionBody, nil
	case size < frame:
		return nil, fmt.Errorf("--body-bytes must be 0 or at least %d, got %d", frame, size)
	}
	return []byte(`{"pad":"` + string(bytes.Repeat([]byte("x"), size-frame)) + `"}` + "\n"), nil
}
