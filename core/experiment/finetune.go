package experiment

import (
	"context"
	"errors"
)

// finetune trains the whole image encoder with the evaluator's head at
// every label fraction and seed. (Being built: see docs/evaluators.md.)
func (er *evalRun) finetune(ctx context.Context, init string, img encoder) error {
	return errors.New("protocol finetune is not implemented yet")
}
