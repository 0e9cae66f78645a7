"""A failing health check is named whatever the task's exit code (issue 16, "What broke" 5): a program that
exits 0 on SIGTERM, whose health path answers 404, made a run end in "not converged after 60s (a new task is
starting)". The error line names the probe's own answer and the config key to change."""
from helpers import SUFFIX, assert_one_line_error, free_port

MAIN = """package main

import (
	"net/http"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() { <-stop; os.Exit(0) }()
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	http.HandleFunc("/healthz", http.NotFound)
	http.ListenAndServe(":7292", nil)
}
"""


def test_a_task_that_exits_0_after_failing_its_health_check_is_named(swarm):
    source = swarm.tmp / "sick"
    source.mkdir()
    (source / "go.mod").write_text("module example.com/sick\n\ngo 1.21\n")
    (source / "main.go").write_text(MAIN)
    name = f"it{SUFFIX}-sick"
    swarm.names += [name, f"{name}-edge"]
    swarm.config["deploy"]["timeout"] = 120  # each sick task takes ~17 s to be stopped
    swarm.config["services"][name] = {"path": str(source), "port": 7292, "publish": free_port(),
                                      "publish_mode": "edge", "healthcheck": {"http": "/healthz"}}
    result = swarm.inv("redeploy", "--service", name, check=False)
    assert_one_line_error(result, "health check", "/healthz", "404", f"services.{name}.healthcheck")
    assert "not converged after" not in result.stderr
