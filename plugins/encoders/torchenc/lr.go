package torchenc

// LearningRate implements sdk.LearningRater: the learning rate of the last
// Step (the schedule sets it before the update, so after a Step it is the
// one that step used), for the host's train/lr metric.
func (e *Encoder) LearningRate() (float64, bool) {
	var lr float64
	if err := e.do(func() error { lr = e.opt.LR(); return nil }); err != nil {
		return 0, false
	}
	return lr, true
}

// LearningRate implements sdk.LearningRater; false before Configure.
func (p *Plugin) LearningRate() (float64, bool) {
	if p.enc == nil {
		return 0, false
	}
	return p.enc.LearningRate()
}
