"""The hub's files that no test can run here (no Kubernetes, no container builds): parsed,
and checked against each other and against the one-server setup."""

import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
HUB = ROOT / "hub"


def test_environment_yml_installs_the_package():
    """Binder and conda install the package only from `-e .` under pip:."""
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip) == 1 and "-e ." in pip[0]
    assert "pip" in env["dependencies"]


def test_z2jh_values_agree_with_the_image_and_the_class():
    values = yaml.safe_load((HUB / "k8s" / "values.yaml").read_text())
    dockerfile = (HUB / "k8s" / "Dockerfile").read_text()
    single = values["singleuser"]
    exchange = single["storage"]["extraVolumeMounts"][0]["mountPath"]
    assert f'c.Exchange.root = "{exchange}"' in dockerfile  # the volume is where nbgrader looks
    assert "c.CourseDirectory.course_id = \"prm-edu\"" in dockerfile
    assert "/srv/prm-edu/notebooks" in dockerfile and "/srv/prm-edu/notebooks" in str(single["lifecycleHooks"])
    assert "pip install --no-cache-dir /tmp/prm-edu" in dockerfile and "hub/requirements.txt" in dockerfile
    groups = values["hub"]["config"]["JupyterHub"]["load_groups"]
    assert set(groups) == {"formgrade-prm-edu", "nbgrader-prm-edu"}
    assert values["cull"]["enabled"] is True
    memory = {k: float(re.fullmatch(r"([\d.]+)G", v).group(1)) for k, v in single["memory"].items()}
    assert memory["guarantee"] <= memory["limit"]
    # students get one thread and the setting made for it, whichever way the class is served
    assert single["extraEnv"]["OMP_NUM_THREADS"] == "1" and single["extraEnv"]["PRM_EDU_SETTING"] == "class"
    assert "PRM_EDU_SETTING=class" in dockerfile


def test_the_one_server_config_names_what_setup_installs():
    config = (HUB / "jupyterhub_config.py").read_text()
    requirements = (HUB / "requirements.txt").read_text()
    assert "jupyterhub_idle_culler" in config and "jupyterhub-idle-culler" in requirements
    assert "systemdspawner" in config and "jupyterhub-systemdspawner" in requirements
    assert 'c.JupyterHub.ip = CLASS["ip"]' in config
    assert '"PRM_EDU_SETTING": "class"' in config and '"OMP_NUM_THREADS": "1"' in config


def test_the_hub_listens_on_localhost_by_default():
    sys.path.insert(0, str(HUB))
    import classroom

    assert classroom.Settings().ip == "127.0.0.1"


def test_make_hub_keeps_the_class_torch_unless_told():
    """`make hub` after the first setup must not swap the shared environment's torch: --torch only when HUB_TORCH is given."""
    import subprocess

    plain = subprocess.run(["make", "-n", "hub", "ROSTER=roster.csv"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert "classroom.py setup" in plain and "--torch" not in plain
    told = subprocess.run(["make", "-n", "hub", "ROSTER=roster.csv", "HUB_TORCH=torch==2.13.0 --index-url URL"], cwd=ROOT,
                          capture_output=True, text=True, check=True).stdout
    assert '--torch "torch==2.13.0 --index-url URL"' in told
