#!/bin/sh
# Packs the torch-resnet example and the Python plugin SDK into one
# executable file (a Python zip application run by Debian's /usr/bin/python3),
# which `convirt plugins install` copies and checksums like a Go binary:
#
#   plugins/examples/pytorch-encoder/build.sh OUT    # then: convirt plugins install OUT
set -eu
out=${1:?usage: build.sh OUT}
here=$(cd "$(dirname "$0")" && pwd)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp "$here/__main__.py" "$here/torch_resnet.py" "$stage/"
mkdir -p "$stage/convirt_plugin/pb"
cp "$here/../../sdk/python/convirt_plugin/"*.py "$stage/convirt_plugin/"
cp "$here/../../sdk/python/convirt_plugin/pb/"*.py "$stage/convirt_plugin/pb/"
/usr/bin/python3 -m zipapp "$stage" -p /usr/bin/python3 -o "$out"
chmod 0755 "$out"
