"""Packaging beside pyproject.toml: only what pyproject.toml cannot say.

The bundled datasets live in the top-level `datasets/` folder (with their sources and
licences) and ship in the wheel as `nnctl/datasets/`, where nnctl.data.builtin finds them. The example configs ship as nnctl/examples/*.yaml.
"""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["nnctl", "nnctl.*"]) + ["nnctl.datasets"],
    package_dir={"nnctl.datasets": "datasets"},
    package_data={
        "nnctl.datasets": ["*.csv", "*.csv.gz", "README.md"],
        "nnctl.examples": ["*.yaml"],
    },
)
