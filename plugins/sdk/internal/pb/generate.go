// Package pb is the generated gRPC code of the plugin wire protocol. The
// protocol is specified, with its conventions, in plugin.proto next to this
// file; plugin authors never import this package (it is internal to the SDK).
package pb

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative plugin.proto
