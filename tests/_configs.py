"""A config file with its `defaults:` merged in (other files of its folder, `group: name` files
below it, under their `# @package` or else their group), in list order, `_self_` where the list puts it: what Hydra composes, for assertions on
the values a run gets, without running Hydra in the test process."""
from pathlib import Path

from omegaconf import OmegaConf


def composed(path):
    path = Path(path)
    own = OmegaConf.load(path)
    defaults = own.pop("defaults", [])
    parts = []
    for entry in defaults or ["_self_"]:
        if entry == "_self_":
            parts.append(own)
        elif isinstance(entry, str):
            parts.append(composed(path.parent / f"{entry}.yaml"))
        else:
            (group, name), = entry.items()
            part = path.parent / group / f"{name}.yaml"
            header = part.read_text().split("\n", 1)[0]
            package = header.split()[-1] if header.startswith("# @package ") else group
            parts.append(composed(part) if package == "_global_" else OmegaConf.create({package: composed(part)}))
    if "_self_" not in (defaults or ["_self_"]):
        parts.append(own)
    return OmegaConf.merge(*parts)
