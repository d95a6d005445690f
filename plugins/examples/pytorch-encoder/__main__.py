"""Entry point of the packed plugin (build.sh): serve torch-resnet."""

import convirt_plugin
from torch_resnet import TorchResNet

convirt_plugin.main(TorchResNet())
