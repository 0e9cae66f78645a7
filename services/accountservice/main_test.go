package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestRoutes(t *testing.T) {
	mux := newMux(seedAccounts(100))

	tests := []struct {
		name       string
		method     string
		path       string
		wantStatus int
		wantBody   string
	}{
		{"first account", http.MethodGet, "/accounts/10000", http.StatusOK, `{"id":"10000","name":"Person_0"}` + "\n"},
		{"last account", http.MethodGet, "/accounts/10099", http.StatusOK, `{"id":"10099","name":"Person_99"}` + "\n"},
		{"unknown id", http.MethodGet, "/accounts/99", http.StatusNotFound, `{"error":"account not found"}` + "\n"},
		{"non-numeric id", http.MethodGet, "/accounts/abc", http.StatusNotFound, `{"error":"account not found"}` + "\n"},
		{"health", http.MethodGet, "/health", http.StatusOK, `{"status":"UP"}` + "\n"},
		{"post", http.MethodPost, "/accounts/10000", http.StatusMethodNotAllowed, `{"error":"method not allowed"}` + "\n"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))

			if rec.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d", rec.Code, tt.wantStatus)
			}
			if got := rec.Header().Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", got)
			}
			if got := rec.Body.String(); got != tt.wantBody {
				t.Errorf("body = %q, want %q", got, tt.wantBody)
			}
		})
	}
}

func TestProbe(t *testing.T) {
	up := httptest.NewServer(newMux(nil))
	defer up.Close()
	if code := probe(up.URL + "/health"); code != 0 {
		t.Errorf("probe healthy server = %d, want 0", code)
	}
	if code := probe(up.URL + "/missing"); code != 1 {
		t.Errorf("probe 404 = %d, want 1", code)
	}

	down := httptest.NewServer(http.NotFoundHandler())
	url := down.URL + "/health"
	down.Close()
	if code := probe(url); code != 1 {
		t.Errorf("probe closed server = %d, want 1", code)
	}
}
