"""Import every module of a sub-package so that its @register_* decorators run."""
import importlib
import pathlib


def import_submodules(package_name: str, package_file: str) -> None:
    for path in sorted(pathlib.Path(package_file).parent.glob("*.py")):
        if not path.name.startswith("_"):
            importlib.import_module(f"{package_name}.{path.stem}")
