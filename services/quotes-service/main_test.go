package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestRoutes(t *testing.T) {
	mux := newMux("test-host")

	tests := []struct {
		name       string
		method     string
		path       string
		wantStatus int
		wantBody   string // empty: body checked elsewhere
	}{
		{"quote", http.MethodGet, "/api/quote", http.StatusOK, ""},
		{"health", http.MethodGet, "/health", http.StatusOK, `{"status":"UP"}` + "\n"},
		{"post quote", http.MethodPost, "/api/quote", http.StatusMethodNotAllowed, `{"error":"method not allowed"}` + "\n"},
		{"unknown path", http.MethodGet, "/nope", http.StatusNotFound, ""},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))

			if rec.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d", rec.Code, tt.wantStatus)
			}
			if tt.wantBody != "" && rec.Body.String() != tt.wantBody {
				t.Errorf("body = %q, want %q", rec.Body.String(), tt.wantBody)
			}
		})
	}
}

func TestQuoteRoundRobin(t *testing.T) {
	mux := newMux("test-host")

	for i := 0; i < len(quotes)+1; i++ {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/quote", nil))

		if got := rec.Header().Get("Content-Type"); got != "application/json" {
			t.Fatalf("Content-Type = %q, want application/json", got)
		}
		var got quote
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatalf("decoding %q: %v", rec.Body.String(), err)
		}
		want := quotes[i%len(quotes)]
		want.Hostname = "test-host"
		if got != want {
			t.Errorf("request %d: got %+v, want %+v", i, got, want)
		}
	}
}

func TestProbe(t *testing.T) {
	up := httptest.NewServer(newMux("test-host"))
	defer up.Close()
	if code := probe(up.URL + "/health"); code != 0 {
		t.Errorf("probe healthy server = %d, want 0", code)
	}
	if code := probe(up.URL + "/missing"); code != 1 {
		t.Errorf("probe 404 = %d, want 1", code)
	}
}
