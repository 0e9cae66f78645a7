package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"time"
)

// maxUsers is far beyond what one machine's file descriptors and ports allow; past it, a flag is a typo.
const maxUsers = 100_000

type config struct {
	target      *target
	users       int
	ramp        time.Duration
	duration    time.Duration
	rate        float64 // requests/s across all users; 0: closed loop
	timeout     time.Duration
	maxRequests int64
	interval    time.Duration
	stdinStop   bool
}

func newFlagSet(c *config, rawURL, ids *string) *flag.FlagSet {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported by the caller, on one line
	fs.StringVar(rawURL, "url", "", "URL to GET; {id} in it is replaced per request by one of -ids")
	fs.StringVar(ids, "ids", "", "ids for {id}: a comma list of ids and ranges lo-hi, e.g. 10000-10099")
	fs.IntVar(&c.users, "users", 10, "concurrent users, each with its own connection")
	fs.DurationVar(&c.ramp, "ramp", 0, "start the users evenly over this time (0: all at once)")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "how long to run, ramp included")
	fs.Float64Var(&c.rate, "rate", 0, "total requests/s across all users (0: each user as fast as it can)")
	fs.DurationVar(&c.timeout, "timeout", 2*time.Second, "per request, and per dial")
	fs.Int64Var(&c.maxRequests, "max-requests", 50_000_000, "stop after this many requests in all")
	fs.DurationVar(&c.interval, "interval", time.Second, "how often to print a tick line")
	fs.BoolVar(&c.stdinStop, "stdin-stop", false, "also stop when stdin reaches EOF")
	return fs
}

const usageLine = "usage: loadgen -url URL [-ids 10000-10099] [-users N] [-ramp D] [-duration D] [-rate R] " +
	"[-timeout D] [-max-requests N] [-interval D] [-stdin-stop]"

// printHelp answers -h: the usage line, then every flag with its default.
func printHelp(w io.Writer) {
	var c config
	var rawURL, rawIDs string
	fs := newFlagSet(&c, &rawURL, &rawIDs)
	fs.SetOutput(w)
	fmt.Fprintln(w, usageLine)
	fs.PrintDefaults()
}

// parseArgs reads the command line. flag.ErrHelp comes back as it is, for -h.
func parseArgs(args []string) (config, error) {
	var c config
	var rawURL, rawIDs string
	fs := newFlagSet(&c, &rawURL, &rawIDs)
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err := c.check(); err != nil {
		return c, err
	}
	if rawURL == "" {
		return c, errors.New("-url is required")
	}
	ids, err := parseIDs(rawIDs)
	if err != nil {
		return c, err
	}
	c.target, err = parseTarget(rawURL, ids)
	return c, err
}

func (c *config) check() error {
	switch {
	case c.users < 1 || c.users > maxUsers:
		return fmt.Errorf("-users must be between 1 and %d", maxUsers)
	case c.duration <= 0:
		return errors.New("-duration must be positive")
	case c.ramp < 0 || c.ramp > c.duration:
		return errors.New("-ramp must be between 0 and -duration")
	case c.rate < 0 || (c.rate > 0 && c.rate < 0.01):
		return errors.New("-rate must be 0 (no limit) or at least 0.01")
	case c.timeout <= 0:
		return errors.New("-timeout must be positive")
	case c.maxRequests < 1:
		return errors.New("-max-requests must be at least 1")
	case c.interval <= 0:
		return errors.New("-interval must be positive")
	}
	return nil
}

// period is the time between one user's requests that makes -rate in all.
func (c *config) period() time.Duration {
	if c.rate == 0 {
		return 0
	}
	return time.Duration(float64(c.users) / c.rate * float64(time.Second))
}
