#!/usr/bin/env python3
"""Run `goswarm ARGS` (the goswarm package first on sys.path) and count what it asked of engines: API requests and
SSH connections (each one a handshake, and a `docker system dial-stdio` per channel), and its CPU time. The counts
go as one JSON line to the file named by COUNTED_OUT, at exit. bench/scale.py runs both contenders through it; it
changes nothing in what they do (the counters wrap requests' Session.send and paramiko's Transport methods).

Usage: COUNTED_OUT=FILE python bench/counted.py redeploy ...
"""
import atexit
import json
import os
import sys
import time


def main() -> None:
    import paramiko
    import requests

    counts = {"api": 0, "ssh": 0, "channels": 0}
    send, start, open_channel = (requests.Session.send, paramiko.Transport.start_client,
                                 paramiko.Transport.open_channel)

    def counted_send(self, request, **kwargs):
        counts["api"] += 1
        return send(self, request, **kwargs)

    def counted_start(self, *args, **kwargs):
        counts["ssh"] += 1
        return start(self, *args, **kwargs)

    def counted_channel(self, *args, **kwargs):
        counts["channels"] += 1
        return open_channel(self, *args, **kwargs)

    requests.Session.send, paramiko.Transport.start_client = counted_send, counted_start
    paramiko.Transport.open_channel = counted_channel

    def write():
        counts["cpu_s"] = round(time.process_time(), 3)  # this process's CPU, its threads' too: what load moves least
        with open(os.environ["COUNTED_OUT"], "a") as out:
            out.write(json.dumps(counts) + "\n")

    atexit.register(write)
    from goswarm.cli import main as goswarm

    sys.argv = ["goswarm", *sys.argv[1:]]
    goswarm()


if __name__ == "__main__":
    main()
