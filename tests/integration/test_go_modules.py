"""The Go code in this repository (sample services, the edge proxy, test fixtures) passes go vet and go test."""
import os
import subprocess

import pytest

from helpers import ROOT

MODULES = sorted(p.parent.relative_to(ROOT) for p in ROOT.glob("**/go.mod") if not {".git", ".venv"} & set(p.parts))


def test_every_go_module_is_found():
    shipped = {"goswarm/go/tcpedge", "goswarm/go/probe", "goswarm/go/loadgen"}
    assert shipped | {"services/accountservice", "services/quotes-service"} <= {str(m) for m in MODULES}


@pytest.mark.parametrize("module", MODULES, ids=str)
def test_go_vet_and_test(module):
    env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-buildvcs=false"}
    for command in (["go", "vet", "./..."], ["go", "test", "-count=1", "./..."]):
        result = subprocess.run(command, cwd=ROOT / module, env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, f"{' '.join(command)} in {module}:\n{result.stdout}{result.stderr}"
