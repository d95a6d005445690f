package torchpickle

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sort"
)

// libtorch 1.13's unpickler reads only part of what Python's pickle
// writes for a state dict: it turns every collections.OrderedDict into None
// (it expects one only as a tensor's unused backward hooks), and it lacks
// the SETITEM, APPEND and POP opcodes and BUILD on a dict. So torch.load in
// Python reads a torchvision or Hugging Face state dict that
// torch::pickle_load cannot ("Expected GenericDict but got None", "Unknown
// opcode"). rewrite translates the pickle into the part libtorch reads,
// without changing what it builds:
//
//   - OrderedDict() (the class, an empty argument tuple, REDUCE) becomes
//     EMPTY_DICT; its items follow as SETITEMS, as for a dict;
//   - SETITEM (one key and value) becomes MARK, key, value, SETITEMS, and
//     APPEND likewise MARK, item, APPENDS;
//   - BUILD, which sets a pickled object's attributes (a state dict's
//     _metadata of module versions), becomes MARK, BuildKey, state,
//     SETITEMS: the attributes land under BuildKey, which the C++ side
//     skips. A plain dict, list or tensor never has them; any other object
//     is refused by libtorch's unpickler when it meets the object's class.
//
// It walks the pickle opcode by opcode (protocols 0 to 5) with the stack
// positions where each value began (where a MARK must go), so argument
// bytes are never taken for opcodes, and refuses an unknown opcode, a
// truncated argument or a stack underflow.

// BuildKey is the dict key a BUILD's state is stored under; shim.cpp skips
// it. It must match kBuildKey there.
const BuildKey = "\x00convirt.build"

const (
	opMark       = '('
	opEmptyTuple = ')'
	opEmptyDict  = '}'
	opReduce     = 'R'
	opBuild      = 'b'
	opGlobal     = 'c'
	opStop       = '.'
	opSetItem    = 's'
	opSetItems   = 'u'
	opAppend     = 'a'
	opAppends    = 'e'
)

// argLen describes an opcode's argument: fixed bytes, a length prefix of
// so many bytes, or newline-terminated lines.
type argLen struct {
	fixed, prefix, lines int
}

var opcodes = func() map[byte]argLen {
	m := map[byte]argLen{}
	for _, op := range []byte("(.0123N\x88\x89}])t\x85\x86\x87ldaesubR\x81\x92o\x94\x8f\x90\x91\x93Q\x97\x98") {
		m[op] = argLen{}
	}
	for op, n := range map[byte]int{'K': 1, 'q': 1, 'h': 1, '\x80': 1, '\x82': 1, 'M': 2, '\x83': 2,
		'J': 4, 'r': 4, 'j': 4, '\x84': 4, 'G': 8, '\x95': 8} {
		m[op] = argLen{fixed: n}
	}
	for op, n := range map[byte]int{'U': 1, '\x8c': 1, 'C': 1, '\x8a': 1, 'T': 4, 'X': 4, 'B': 4, '\x8b': 4,
		'\x8d': 8, '\x8e': 8, '\x96': 8} {
		m[op] = argLen{prefix: n}
	}
	for _, op := range "ILFSVPgp" {
		m[byte(op)] = argLen{lines: 1}
	}
	m['c'], m['i'] = argLen{lines: 2}, argLen{lines: 2}
	return m
}()

// memo opcodes: which store the top of the stack, which push a stored value.
var (
	memoPut = map[byte]bool{'q': true, 'r': true, 'p': true, '\x94': true}
	memoGet = map[byte]bool{'h': true, 'j': true, 'g': true}
)

// effect is an opcode's effect on the stack: it pops pop values (all down
// to the topmost MARK, and the MARK, when toMark) and pushes push.
type effect struct {
	pop    int
	toMark bool
	push   int
}

var effects = func() map[byte]effect {
	m := map[byte]effect{}
	for _, op := range []byte("N\x88\x89}])KhMJGU\x8cC\x8aTXB\x8b\x8d\x8e\x96ILFSVPgjc\x82\x83\x84\x8f\x97(2") {
		m[op] = effect{push: 1}
	}
	for _, op := range []byte("qrp\x94\x80\x95.") {
		m[op] = effect{}
	}
	for op, e := range map[byte]effect{
		'0': {pop: 1}, '1': {toMark: true}, '\x85': {pop: 1, push: 1}, '\x86': {pop: 2, push: 1}, '\x87': {pop: 3, push: 1},
		't': {toMark: true, push: 1}, 'l': {toMark: true, push: 1}, 'd': {toMark: true, push: 1}, '\x91': {toMark: true, push: 1},
		'o': {toMark: true, push: 1}, 'i': {toMark: true, push: 1},
		'a': {pop: 1}, 'e': {toMark: true}, 'u': {toMark: true}, '\x90': {toMark: true}, 's': {pop: 2}, 'b': {pop: 1},
		'R': {pop: 2, push: 1}, '\x81': {pop: 2, push: 1}, '\x92': {pop: 3, push: 1}, '\x93': {pop: 2, push: 1},
		'Q': {pop: 1, push: 1}, '\x98': {pop: 1, push: 1},
	} {
		m[op] = e
	}
	return m
}()

// edit replaces p[at:end] with text.
type edit struct {
	at, end int
	text    []byte
}

// rewrite returns p translated as described above.
func rewrite(p []byte) ([]byte, error) {
	var edits []edit
	// stack holds where each value on the pickle stack began; a MARK is
	// -1-its offset.
	var stack []int
	odMemo := map[string]bool{} // every memo key stored: whether it holds the OrderedDict class
	state, classAt := idle, 0
	for pos := 0; pos < len(p); {
		at := pos
		op, arg, next, err := readOp(p, pos)
		if err != nil {
			return nil, err
		}
		pos = next
		e := effects[op]
		// begin is where the value op pushes began: at the deepest value it
		// pops, or at op itself.
		begin := at
		if e.toMark {
			i := len(stack) - 1
			for i >= 0 && stack[i] >= 0 {
				i--
			}
			if i < 0 {
				return nil, fmt.Errorf("pickle: opcode 0x%02x at byte %d: no MARK on the stack", op, at)
			}
			begin, stack = -1-stack[i], stack[:i]
		} else if e.pop > 0 {
			if len(stack) < e.pop {
				return nil, fmt.Errorf("pickle: opcode 0x%02x at byte %d: stack underflow", op, at)
			}
			if stack[len(stack)-e.pop] >= 0 {
				begin = stack[len(stack)-e.pop]
			}
			// The values an edit needs a MARK before: the key of SETITEM,
			// the item of APPEND, the state of BUILD.
			switch op {
			case opSetItem:
				edits = append(edits, edit{stack[len(stack)-2], stack[len(stack)-2], []byte{opMark}}, edit{at, pos, []byte{opSetItems}})
			case opAppend:
				edits = append(edits, edit{stack[len(stack)-1], stack[len(stack)-1], []byte{opMark}}, edit{at, pos, []byte{opAppends}})
			case opBuild:
				key := append([]byte{opMark, 'X', byte(len(BuildKey)), 0, 0, 0}, BuildKey...)
				edits = append(edits, edit{stack[len(stack)-1], stack[len(stack)-1], key}, edit{at, pos, []byte{opSetItems}})
			}
			stack = stack[:len(stack)-e.pop]
		}
		if e.push > 0 {
			if op == opMark {
				stack = append(stack, -1-at)
			} else {
				stack = append(stack, begin)
			}
		}
		switch {
		case (op == opGlobal && string(arg) == "collections\nOrderedDict\n") || (memoGet[op] && odMemo[memoKey(op, arg, 0)]):
			state, classAt = sawClass, at
			continue
		case memoPut[op]:
			odMemo[memoKey(op, arg, len(odMemo))] = state == sawClass
			if state == sawClass {
				continue
			}
		case op == opEmptyTuple && state == sawClass:
			state = sawArgs
			continue
		case op == opReduce && state == sawArgs:
			edits = append(edits, edit{classAt, pos, []byte{opEmptyDict}})
		case op == opStop:
			return apply(p[:pos], edits), nil
		}
		state = idle
	}
	return nil, fmt.Errorf("pickle: no STOP opcode before the end (%d bytes)", len(p))
}

// apply makes the edits, given in the order the walk found them: an
// insertion (at == end) goes before a replacement at the same offset, and
// of two insertions at one offset the one found later goes first (it
// belongs to the enclosing value).
func apply(p []byte, edits []edit) []byte {
	type keyed struct {
		edit
		seq int
	}
	ks := make([]keyed, len(edits))
	for i, e := range edits {
		ks[i] = keyed{e, i}
	}
	sort.SliceStable(ks, func(i, j int) bool {
		a, b := ks[i], ks[j]
		if a.at != b.at {
			return a.at < b.at
		}
		ai, bi := a.at == a.end, b.at == b.end
		if ai != bi {
			return ai
		}
		return a.seq > b.seq
	})
	out := make([]byte, 0, len(p)+64)
	pos := 0
	for _, e := range ks {
		if e.at < pos { // inside a range already replaced (an OrderedDict class)
			continue
		}
		out = append(out, p[pos:e.at]...)
		out = append(out, e.text...)
		pos = e.end
	}
	return append(out, p[pos:]...)
}

// States of rewrite's OrderedDict() match.
const (
	idle     = iota
	sawClass // the class is pushed (and perhaps memoised)
	sawArgs  // and an empty argument tuple
)

// readOp decodes the opcode at pos: its argument bytes and where the next
// opcode starts.
func readOp(p []byte, pos int) (op byte, arg []byte, next int, err error) {
	op = p[pos]
	a, ok := opcodes[op]
	if !ok {
		return 0, nil, 0, fmt.Errorf("pickle: unknown opcode 0x%02x at byte %d", op, pos)
	}
	at := pos
	pos++
	argStart := pos
	switch {
	case a.fixed > 0:
		pos += a.fixed
	case a.prefix > 0:
		if pos+a.prefix > len(p) {
			return 0, nil, 0, fmt.Errorf("pickle: opcode 0x%02x at byte %d: truncated", op, at)
		}
		var n uint64
		switch a.prefix {
		case 1:
			n = uint64(p[pos])
		case 4:
			n = uint64(binary.LittleEndian.Uint32(p[pos:]))
		case 8:
			n = binary.LittleEndian.Uint64(p[pos:])
		}
		if n > uint64(len(p)) {
			return 0, nil, 0, fmt.Errorf("pickle: opcode 0x%02x at byte %d: length %d past the end", op, at, n)
		}
		pos += a.prefix + int(n)
	case a.lines > 0:
		for range a.lines {
			i := bytes.IndexByte(p[pos:], '\n')
			if i < 0 {
				return 0, nil, 0, fmt.Errorf("pickle: opcode 0x%02x at byte %d: unterminated line", op, at)
			}
			pos += i + 1
		}
	}
	if pos > len(p) {
		return 0, nil, 0, fmt.Errorf("pickle: opcode 0x%02x at byte %d: truncated", op, at)
	}
	return op, p[argStart:pos], pos, nil
}

// memoKey names the memo slot an opcode stores to or loads from: its
// argument as a number (binary forms), its text (PUT, GET), or the next
// free index (MEMOIZE).
func memoKey(op byte, arg []byte, next int) string {
	switch op {
	case 'q', 'h':
		return fmt.Sprint(arg[0])
	case 'r', 'j':
		return fmt.Sprint(binary.LittleEndian.Uint32(arg))
	case '\x94':
		return fmt.Sprint(next)
	}
	return string(bytes.TrimSpace(arg))
}
