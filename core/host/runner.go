package host

import (
	"context"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"
)

// pipeGrace is how long after the plugin process ends its stdout and stderr
// may stay open (held by a process it started that escaped its process
// group) before the host closes its ends and stops waiting for them.
const pipeGrace = 2 * time.Second

// beforeExec, when set, runs just before the plugin process is executed
// (tests: to change the binary between its check and its start).
var beforeExec func(path string)

// procRunner starts and stops the plugin process for go-plugin (a
// go-plugin runner.Runner) and owns the process's stdout and stderr, so that
// nothing the plugin writes or keeps open can hang the host:
//
//   - stdout is read here, not by go-plugin: before the handshake only the
//     handshake line is passed on; other lines go to the plugin's log, and
//     more than limit bytes stop the plugin with an error (stdoutOverflow);
//     after it, what the plugin writes goes to the log;
//   - the plugin leads its own process group (Linux), and Kill stops the
//     group: a process the plugin started cannot keep the pipes open;
//   - the process is reaped at once; should a process outside the group
//     still hold the pipes pipeGrace later, their ends are closed here.
type procRunner struct {
	cmd   *exec.Cmd
	exe   *verifiedExe // nil: cmd runs its path unchecked
	name  string       // the binary, for go-plugin's messages
	limit int          // stdout bytes allowed before the handshake
	line  func(string) // receives the stdout lines other than the handshake

	toPlugin   *io.PipeReader // what go-plugin reads as the plugin's stdout
	handshake  *io.PipeWriter // where the handshake line is passed on
	stdout     *os.File       // read end of the plugin's stdout
	stderr     *os.File       // read end of the plugin's stderr
	exited     chan struct{}  // closed once the process is reaped
	closePipes sync.Once

	mu       sync.Mutex
	proc     *os.Process
	reaped   bool
	waitErr  error
	overflow *stdoutOverflow
}

// newRunner prepares cmd to run under go-plugin.
func newRunner(cmd *exec.Cmd, exe *verifiedExe, name string, limit int, line func(string)) *procRunner {
	r := &procRunner{cmd: cmd, exe: exe, name: name, limit: limit, line: line, exited: make(chan struct{})}
	r.toPlugin, r.handshake = io.Pipe()
	return r
}

// Start implements runner.Runner: it executes the plugin with its stdout
// and stderr on pipes this runner reads.
func (r *procRunner) Start(context.Context) error {
	outR, outW, err := os.Pipe()
	if err != nil {
		return r.startFailed(err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return r.startFailed(err)
	}
	r.cmd.Stdin, r.cmd.Stdout, r.cmd.Stderr = nil, outW, errW
	if r.exe != nil {
		r.exe.prepare(r.cmd)
	}
	if beforeExec != nil {
		beforeExec(r.name)
	}
	err = r.cmd.Start()
	outW.Close()
	errW.Close()
	if err == nil && r.exe != nil {
		if err = r.exe.started(); err != nil {
			_ = killTree(r.cmd.Process)
			_ = r.cmd.Wait()
		}
	}
	if err != nil {
		outR.Close()
		errR.Close()
		return r.startFailed(err)
	}
	r.mu.Lock()
	r.proc = r.cmd.Process
	r.mu.Unlock()
	r.stdout, r.stderr = outR, errR
	go r.reap()
	go r.readStdout()
	return nil
}

// startFailed cleans up after a start that did not happen.
func (r *procRunner) startFailed(err error) error {
	r.exe.release()
	r.handshake.Close()
	return err
}

// reap waits for the process, stops what is left of its process group and
// records how it ended.
func (r *procRunner) reap() {
	err := r.cmd.Wait()
	killLeftovers(r.cmd.Process.Pid)
	r.exe.release()
	r.mu.Lock()
	r.reaped, r.waitErr = true, err
	r.mu.Unlock()
	close(r.exited)
	time.AfterFunc(pipeGrace, r.closeReadEnds)
}

// closeReadEnds closes the host's ends of the plugin's stdout and stderr,
// ending the reads of whoever still waits on them.
func (r *procRunner) closeReadEnds() {
	r.closePipes.Do(func() {
		r.stdout.Close()
		r.stderr.Close()
	})
}

// status describes how the process ended ("exit status 2", "signal:
// killed"), or "" while it runs.
func (r *procRunner) status() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case !r.reaped:
		return ""
	case r.waitErr == nil:
		return "exit status 0"
	}
	return r.waitErr.Error()
}

// pid is the process id, 0 before the start.
func (r *procRunner) pid() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.proc == nil {
		return 0
	}
	return r.proc.Pid
}

// Wait implements runner.Runner.
func (r *procRunner) Wait(ctx context.Context) error {
	select {
	case <-r.exited:
	case <-ctx.Done():
		return ctx.Err()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.waitErr
}

// Kill implements runner.Runner: it SIGKILLs the plugin and its process
// group.
func (r *procRunner) Kill(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.proc == nil || r.reaped {
		return nil
	}
	return killTree(r.proc)
}

// Stdout implements runner.Runner: the handshake line, then EOF.
func (r *procRunner) Stdout() io.ReadCloser { return r.toPlugin }

// Stderr implements runner.Runner.
func (r *procRunner) Stderr() io.ReadCloser { return r.stderr }

// Name implements runner.Runner.
func (r *procRunner) Name() string { return r.name }

// ID implements runner.Runner: the pid, "" before the start.
func (r *procRunner) ID() string {
	if p := r.pid(); p > 0 {
		return strconv.Itoa(p)
	}
	return ""
}

// Diagnose implements runner.Runner; the host's own messages say more.
func (r *procRunner) Diagnose(context.Context) string { return "" }

// PluginToHost implements runner.Runner: host and plugin share addresses.
func (r *procRunner) PluginToHost(network, addr string) (string, string, error) {
	return network, addr, nil
}

// HostToPlugin implements runner.Runner.
func (r *procRunner) HostToPlugin(network, addr string) (string, string, error) {
	return network, addr, nil
}
