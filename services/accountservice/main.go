// Command accountservice serves a fixed set of fake accounts over HTTP.
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
	"strconv"
	"strings"
	"syscall"
	"time"
)

type account struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// accountHandler needs no locking: the map is only written before serving starts.
type accountHandler struct {
	accounts map[string]account
}

func seedAccounts(n int) map[string]account {
	accounts := make(map[string]account, n)
	for i := 0; i < n; i++ {
		id := strconv.Itoa(10000 + i)
		accounts[id] = account{ID: id, Name: "Person_" + strconv.Itoa(i)}
	}
	return accounts
}

func (h *accountHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	acc, ok := h.accounts[strings.TrimPrefix(r.URL.Path, "/accounts/")]
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "account not found"})
		return
	}
	writeJSON(w, http.StatusOK, acc)
}

func health(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "UP"})
}

func newMux(accounts map[string]account) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/accounts/", &accountHandler{accounts: accounts})
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
		port = "6767"
	}
	if *healthcheck {
		os.Exit(probe("http://127.0.0.1:" + port + "/health"))
	}

	log.Println("Starting accountservice")
	accounts := seedAccounts(100)
	log.Printf("Seeded %d fake accounts...", len(accounts))

	srv := &http.Server{
		Addr:              ":" + port,
		Handler:           newMux(accounts),
		ReadHeaderTimeout: 5 * time.Second,
	}
	if err := serve(srv); err != nil {
		log.Fatal(err)
	}
}
