#!/bin/sh
# Regenerates the Python gRPC code of the convirt plugin SDK from the same
# plugin.proto the Go side uses (plugins/sdk/internal/pb), plus go-plugin's
# controller and gRPC's health service (proto/ here). It needs Debian's
# protobuf-compiler and protobuf-compiler-grpc (protoc, grpc_python_plugin).
#
#   plugins/sdk/python/generate.sh [OUT]     # OUT defaults to this directory
#
# The generated files are committed; run this after changing a .proto.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here}
plugin=${GRPC_PYTHON_PLUGIN:-$(command -v grpc_python_plugin || true)}
if [ -z "$plugin" ]; then
	echo "generate.sh: grpc_python_plugin not found: apt-get install protobuf-compiler-grpc" >&2
	exit 1
fi
mkdir -p "$out/convirt_plugin/pb"
# -IVIRTUAL=REAL maps each .proto into the package, so the generated modules
# import each other as convirt_plugin.pb.*.
protoc -I"convirt_plugin/pb=$here/../internal/pb" -I"convirt_plugin/pb=$here/proto" \
	--python_out="$out" --grpc_python_out="$out" --plugin=protoc-gen-grpc_python="$plugin" \
	convirt_plugin/pb/plugin.proto convirt_plugin/pb/goplugin.proto convirt_plugin/pb/health.proto
