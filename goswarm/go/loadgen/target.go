package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

const placeholder = "{id}"

// maxIDs bounds -ids so that a typo like 1-1000000000 is refused instead of eating the memory.
const maxIDs = 1_000_000

// target is the -url template made ready for the users: where to dial, and the request text cut at
// each {id} so that a request is a few appends into a reused buffer.
type target struct {
	addr  string   // host:port to dial
	parts []string // the request around its {id}s: parts[0] id parts[1] id ... parts[n]
	ids   []string // escaped, ready to paste
}

// parseTarget checks the template and prepares the request text. Only plain http:// is supported: the
// services under test sit behind Swarm's routing mesh without TLS.
func parseTarget(template string, ids []string) (*target, error) {
	rest, ok := cutPrefixFold(template, "http://")
	if !ok {
		return nil, errors.New("-url must start with http://")
	}
	host, path := rest, "/"
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		host, path = rest[:i], rest[i:]
	}
	path = strings.SplitN(path, "#", 2)[0] // a fragment is never sent
	if strings.HasPrefix(path, "?") {
		path = "/" + path
	}
	if err := checkHost(host); err != nil {
		return nil, err
	}
	if _, err := url.Parse(strings.ReplaceAll(template, placeholder, "0")); err != nil {
		return nil, fmt.Errorf("-url: %w", err)
	}
	if strings.ContainsAny(path, " \t\r\n") { // they would end the request line early
		return nil, errors.New("-url: spaces in the path must be escaped, as %20")
	}
	if strings.Contains(path, placeholder) && len(ids) == 0 {
		return nil, errors.New("-url has {id} but -ids is empty")
	}

	request := "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: goswarm-loadgen\r\n\r\n"
	t := &target{addr: dialAddr(host), parts: strings.Split(request, placeholder)}
	for _, id := range ids {
		t.ids = append(t.ids, url.PathEscape(id))
	}
	return t, nil
}

func checkHost(host string) error {
	switch {
	case host == "":
		return errors.New("-url has no host")
	case strings.Contains(host, placeholder):
		return errors.New("-url: {id} can only be in the path or the query")
	case strings.Contains(host, "@"):
		return errors.New("-url: user info is not supported")
	}
	return nil
}

func dialAddr(host string) string {
	if _, _, err := net.SplitHostPort(host); err == nil {
		return host
	}
	return net.JoinHostPort(strings.Trim(host, "[]"), "80")
}

// appendRequest appends to dst the request with every {id} replaced by id.
func (t *target) appendRequest(dst []byte, id string) []byte {
	dst = append(dst, t.parts[0]...)
	for _, part := range t.parts[1:] {
		dst = append(dst, id...)
		dst = append(dst, part...)
	}
	return dst
}

// parseIDs reads -ids: a comma list whose items are single ids or inclusive numeric ranges, as in
// "10000-10099" or "7,9,20-29". An item that is not two numbers around a dash is an id as it is.
func parseIDs(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var ids []string
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			return nil, fmt.Errorf("-ids %q: empty item", s)
		}
		lo, hi, isRange := parseRange(item)
		if !isRange {
			ids = append(ids, item)
			continue
		}
		if lo > hi {
			return nil, fmt.Errorf("-ids: range %s runs backwards", item)
		}
		if hi-lo >= maxIDs-int64(len(ids)) {
			return nil, fmt.Errorf("-ids: more than %d ids", maxIDs)
		}
		for id := lo; id <= hi; id++ {
			ids = append(ids, strconv.FormatInt(id, 10))
		}
	}
	if len(ids) > maxIDs {
		return nil, fmt.Errorf("-ids: more than %d ids", maxIDs)
	}
	return ids, nil
}

func parseRange(item string) (lo, hi int64, ok bool) {
	dash := strings.IndexByte(item, '-')
	if dash <= 0 {
		return 0, 0, false
	}
	lo, errLo := strconv.ParseInt(item[:dash], 10, 64)
	hi, errHi := strconv.ParseInt(item[dash+1:], 10, 64)
	return lo, hi, errLo == nil && errHi == nil && hi >= 0
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return s, false
	}
	return s[len(prefix):], true
}
