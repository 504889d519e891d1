"""The package list, found rather than written out; pyproject.toml holds the rest of the build.

Three folders become packages: zoo/ as `zoo`, and the folders pyproject.toml's package-dir maps to other names
(runtime/musiczoo_runtime/ as `musiczoo_runtime`, weights/ as `zoo.pretrained`). pyproject.toml's own package
finder cannot name the packages of a folder installed under another name, so the finding is done here, folder
by folder, from that mapping. Folders without an __init__.py (weights/LICENSES, the runtime's graphs/) are found
too, as the namespace packages that carry their data files.
"""

import tomllib
from pathlib import Path

from setuptools import find_namespace_packages, setup

MAPPED = tomllib.loads(Path(__file__).with_name("pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]


def packages(name, folder):
    """The package `name` installed from `folder` and every package below it, e.g. ["zoo", "zoo.cli", ...]."""
    return [name, *(f"{name}.{below}" for below in find_namespace_packages(folder, exclude=["*__pycache__*"]))]


setup(packages=[package for name, folder in {"zoo": "zoo", **MAPPED}.items() for package in packages(name, folder)])
