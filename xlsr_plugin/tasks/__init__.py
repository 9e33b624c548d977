from xlsr_plugin._imports import import_submodules

import_submodules(__name__, __file__)
