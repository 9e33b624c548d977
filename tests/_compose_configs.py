"""Composes configs as fairseq-hydra-train does before it imports the plugin: fairseq's schema
registered under the config's name, then Hydra's composition with the command-line overrides.
Prints {label: the task node, or the error} as JSON. A script of its own: importing the plugin
registers its task schemas with Hydra, which would accept any task option."""
import json
import sys

from fairseq.dataclass.initialize import hydra_init
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf


def composed_task(config_dir: str, name: str, overrides: list):
    hydra_init(name)
    with initialize_config_dir(config_dir=config_dir, version_base="1.1"):
        try:
            return OmegaConf.to_container(compose(name, overrides=overrides).task)
        except Exception as error:  # reported per config, as the command line would print it
            return {"error": f"{type(error).__name__}: {error}"}


if __name__ == "__main__":
    requests = json.loads(sys.argv[1])
    assert "xlsr_plugin" not in sys.modules
    print(json.dumps({label: composed_task(*request) for label, request in requests.items()}))
