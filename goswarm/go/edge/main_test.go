package main

import (
	"strings"
	"testing"
)

func TestCheckRefusesWhatCaddyWouldFailOnLater(t *testing.T) {
	cases := []struct{ raw, want string }{
		{"", "EDGE_CONFIG is required"},
		{"{", "not JSON"},
		{`{"admin":{"disabled":true}}`, "no apps"},
		{`{"apps":{"http":{}}}`, ""},
	}
	for _, c := range cases {
		err := check(c.raw)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("check(%q) = %v, want %q", c.raw, err, c.want)
		}
	}
}
