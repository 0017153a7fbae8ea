// Command testapp is the tenant application the test node runs: an HTTP server with a health path
// and a UDP echo on the same port (`serve`), and a client that opens TCP connections, UDP
// exchanges and DNS look-ups to given targets and prints one JSON line per target (`probe`), so
// tests can observe from inside a pod what the network lets through.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "probe" {
		os.Exit(probe(os.Args[2:]))
	}
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "serve" {
		args = args[1:]
	}
	os.Exit(serve(args))
}

// serve answers HTTP on every -listen address (GET / names the host, GET <health> says ok) and
// echoes UDP datagrams on the same addresses, until SIGTERM.
func serve(args []string) int {
	flags := flag.NewFlagSet("serve", flag.ExitOnError)
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	listen := flags.String("listen", ":"+port, "comma-separated addresses to serve HTTP (TCP) and UDP echo on")
	health := flags.String("health-path", "/healthz", "path that answers 200 ok")
	_ = flags.Parse(args)
	host, _ := os.Hostname()
	mux := http.NewServeMux()
	mux.HandleFunc(*health, func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintf(w, "testapp on %s\n", host) })
	errs := make(chan error, 1)
	for _, address := range strings.Split(*listen, ",") {
		server := &http.Server{Addr: address, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() { errs <- server.ListenAndServe() }()
		go func() { errs <- echoUDP(address) }()
	}
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	select {
	case err := <-errs:
		fmt.Fprintln(os.Stderr, "testapp:", err)
		return 1
	case <-signals:
		return 0
	}
}

func echoUDP(address string) error {
	conn, err := net.ListenPacket("udp", address)
	if err != nil {
		return err
	}
	buf := make([]byte, 1500)
	for {
		n, from, err := conn.ReadFrom(buf)
		if err != nil {
			return err
		}
		_, _ = conn.WriteTo(buf[:n], from)
	}
}

type result struct {
	Target string `json:"target"`
	OK     bool   `json:"ok"`
	Error  string `json:"error,omitempty"`
}

// probe tries every target at once: tcp:HOST:PORT (handshake completes), udp:HOST:PORT (the echo
// comes back) or dns:NAME (resolves through the pod's resolv.conf). Exit code 0 even when targets
// fail: the JSON lines are the answer.
func probe(args []string) int {
	flags := flag.NewFlagSet("probe", flag.ExitOnError)
	timeout := flags.Duration("timeout", 2*time.Second, "per-target timeout")
	from := flags.String("from", "", "source IP address to bind")
	_ = flags.Parse(args)
	results := make([]result, flags.NArg())
	var wg sync.WaitGroup
	for i, target := range flags.Args() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := try(target, *from, *timeout)
			results[i] = result{Target: target, OK: err == nil}
			if err != nil {
				results[i].Error = err.Error()
			}
		}()
	}
	wg.Wait()
	out := json.NewEncoder(os.Stdout)
	for _, r := range results {
		_ = out.Encode(r)
	}
	return 0
}

func try(target, from string, timeout time.Duration) error {
	kind, address, ok := strings.Cut(target, ":")
	if !ok {
		return fmt.Errorf("target %q is not kind:address", target)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	switch kind {
	case "dns":
		_, err := net.DefaultResolver.LookupHost(ctx, address)
		return err
	case "tcp":
		dialer := net.Dialer{}
		if from != "" {
			dialer.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
		}
		conn, err := dialer.DialContext(ctx, "tcp", address)
		if err != nil {
			return err
		}
		return conn.Close()
	case "udp":
		dialer := net.Dialer{}
		if from != "" {
			dialer.LocalAddr = &net.UDPAddr{IP: net.ParseIP(from)}
		}
		conn, err := dialer.DialContext(ctx, "udp", address)
		if err != nil {
			return err
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(timeout))
		if _, err := conn.Write([]byte("ping")); err != nil {
			return err
		}
		buf := make([]byte, 16)
		n, err := conn.Read(buf)
		if err != nil {
			return err
		}
		if string(buf[:n]) != "ping" {
			return fmt.Errorf("unexpected echo %q", buf[:n])
		}
		return nil
	}
	return fmt.Errorf("unknown probe kind %q", kind)
}
