package main

// The built-in evaluator plugins ("linear", "retrieval", "zeroshot", "finetune").
import (
	_ "github.com/convirt/convirt/plugins/evaluators/evalplugin"
)
