"""io/qemu.py: what it decides without a VM."""
import pytest

from goswarm.errors import PipelineError
from goswarm.io import netns, qemu


def test_vms_take_lab_addresses_from_the_top():
    assert qemu.free_address(set()) == "10.77.0.254"
    assert qemu.free_address({"10.77.0.254", "10.77.0.2"}) == "10.77.0.253"
    with pytest.raises(PipelineError, match="no free address left"):
        qemu.free_address(set(netns.host_range()))
