// Command edge is the HTTP proxy of `publish_mode: edge`: Caddy's
// reverse_proxy, built as a static binary like the services it fronts, with
// only the modules it needs (the HTTP app and reverse_proxy). Its whole
// configuration comes from goswarm (goswarm/plan/edgeconfig.py) as Caddy JSON
// in EDGE_CONFIG: the image is the same for every app.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/caddyserver/caddy/v2"
	_ "github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
)

func main() {
	raw := os.Getenv("EDGE_CONFIG")
	if err := check(raw); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(2)
	}
	if err := caddy.Load([]byte(raw), true); err != nil {
		fmt.Fprintln(os.Stderr, "error: starting the proxy:", err)
		os.Exit(1)
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
	<-stop
	// Caddy's Stop shuts the server down gracefully: it stops accepting, lets
	// requests in flight finish within the config's grace_period, then exits.
	if err := caddy.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "error: stopping the proxy:", err)
		os.Exit(1)
	}
}

// check refuses what Caddy would otherwise accept and then fail on later.
func check(raw string) error {
	if raw == "" {
		return fmt.Errorf("EDGE_CONFIG is required: the Caddy JSON config goswarm writes for the edge")
	}
	var cfg map[string]any
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		return fmt.Errorf("EDGE_CONFIG is not JSON: %v", err)
	}
	if _, ok := cfg["apps"]; !ok {
		return fmt.Errorf("EDGE_CONFIG has no apps: nothing to serve")
	}
	return nil
}
