// Command quotes-service is an internal service that returns a quote along
// with the hostname of the replica that served it.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"
)

type quote struct {
	Quote    string `json:"quote"`
	Author   string `json:"author"`
	Hostname string `json:"hostname"`
}

var quotes = []quote{
	{Quote: "Clear is better than clever.", Author: "Rob Pike"},
	{Quote: "Simplicity is prerequisite for reliability.", Author: "Edsger W. Dijkstra"},
	{Quote: "Make it work, make it right, make it fast.", Author: "Kent Beck"},
	{Quote: "Premature optimization is the root of all evil.", Author: "Donald Knuth"},
	{Quote: "Talk is cheap. Show me the code.", Author: "Linus Torvalds"},
}

// quoteHandler rotates round robin rather than randomly so responses are
// deterministic in tests; the hostname shows which Swarm replica answered.
type quoteHandler struct {
	hostname string
	next     atomic.Uint64
}

func (h *quoteHandler) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	q := quotes[(h.next.Add(1)-1)%uint64(len(quotes))]
	q.Hostname = h.hostname
	writeJSON(w, http.StatusOK, q)
}

func health(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "UP"})
}

func newMux(hostname string) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/api/quote", &quoteHandler{hostname: hostname})
	mux.HandleFunc("/health", health)
	return getOnly(mux)
}

// getOnly enforces GET in one place because every endpoint is read-only.
func getOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", http.MethodGet)
			writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "method not allowed"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		log.Printf("writing response: %v", err)
	}
}

// probe backs the Docker HEALTHCHECK: the scratch image has no curl, so the
// binary checks itself. It returns the process exit code.
func probe(url string) int {
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(url)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "healthcheck:", err)
		return 1
	}
	return 0
}

// serve runs srv until SIGTERM/SIGINT, then drains in-flight requests so a
// Swarm rolling update does not cut off clients.
func serve(srv *http.Server) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}

	log.Println("Shutting down")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(ctx)
}

func main() {
	healthcheck := flag.Bool("healthcheck", false, "probe /health on the local server and exit 0 if healthy")
	flag.Parse()
	log.SetOutput(os.Stdout)

	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	if *healthcheck {
		os.Exit(probe("http://127.0.0.1:" + port + "/health"))
	}

	log.Println("Starting quotes-service")
	hostname, err := os.Hostname()
	if err != nil {
		hostname = "unknown"
	}

	srv := &http.Server{
		Addr:              ":" + port,
		Handler:           newMux(hostname),
		ReadHeaderTimeout: 5 * time.Second,
	}
	if err := serve(srv); err != nil {
		log.Fatal(err)
	}
}
