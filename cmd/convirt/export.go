package main

import "github.com/convirt/convirt/cmd/convirt/internal/export"

// `convirt export` and `convirt weights convert` (package export).
func init() { export.Register(commands) }
