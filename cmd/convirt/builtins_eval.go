package main

// The built-in evaluator plugins ("linear", "retrieval", "zeroshot").
import (
	_ "github.com/convirt/convirt/plugins/evaluators/evalplugin"
)
