"""The Vagrantfile is valid where vagrant is installed, and provisions with
the same script as the README."""
import os
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


def test_vagrantfile_uses_the_provisioning_script():
    with open(os.path.join(ROOT, "Vagrantfile")) as fh:
        text = fh.read()
    assert "ubuntu2404" in text and "scripts/provision.sh" in text
    assert '"virtualbox"' in text and '"libvirt"' in text


@pytest.mark.skipif(shutil.which("vagrant") is None, reason="vagrant is not installed")
def test_vagrant_validate():
    # --ignore-provider: CI machines have vagrant but no VirtualBox or libvirt.
    result = subprocess.run(["vagrant", "validate", "--ignore-provider"], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
