"""The package list, found rather than written out; pyproject.toml holds the rest of the build.

Three folders become packages (pyproject.toml's package-dir): zoo/ as `zoo`, runtime/musiczoo_runtime/ as
`musiczoo_runtime` and weights/ as `zoo.pretrained`. pyproject.toml's own package finder cannot name the
packages of a folder installed under another name, so the finding is done here, folder by folder.
Folders without an __init__.py (weights/LICENSES, the runtime's graphs/) are found too, as the namespace
packages that carry their data files.
"""

from setuptools import find_namespace_packages, setup

FOLDERS = {"zoo": "zoo", "musiczoo_runtime": "runtime/musiczoo_runtime", "zoo.pretrained": "weights"}


def packages(name, folder):
    """The package `name` installed from `folder` and every package below it, e.g. ["zoo", "zoo.cli", ...]."""
    return [name, *(f"{name}.{below}" for below in find_namespace_packages(folder, exclude=["*__pycache__*"]))]


setup(packages=[package for name, folder in FOLDERS.items() for package in packages(name, folder)])
